"""Sensitivity: a server config the model does not know about must make the suites fail, readably.

Each case runs part of suites/ in a subprocess with --mutate-server-config (the server changes, the model
does not) and checks that the run fails on the cases the mutation should break.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.runs import run_pytest


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_pytest(tmp_path, "-q", "-rf", *args, env={"AUTHZ_BACKEND": "process"})


@pytest.mark.parametrize(
    ("mutation", "selection", "must_fail"),
    [
        # Issue 7: no audience check, so tokens for other audiences (or none) get in.
        (
            "audience=",
            ["suites/test_config_variants.py", "-k", "CONFIG-005"],
            ["AUTHZ-CONFIG-005-AudMismatch", "AUTHZ-CONFIG-005-AudMissing"],
        ),
        # Issue 7: a long refresh interval, so faults and recoveries are never seen in time.
        (
            "jwtKeyProvider.refreshInterval=1h",
            ["suites/test_jwks_faults.py", "-k", "empty_key_set and 404"],
            ["test_an_empty_key_set_drops_every_key_whatever_the_status[404]"],
        ),
        # Issue 7: a second trusted key source (the decoy path): jku-style attacker tokens get in.
        (
            "jwtKeyProvider.keySourceURIs+={jwks}/decoy.json",
            ["suites/test_tokens.py", "-k", "JWT-013"],
            ["AUTHZ-JWT-013-JkuToDecoy]"],
        ),
        # Issue 6: refresh disabled, so a rotated key is never picked up.
        (
            "jwtKeyProvider.refreshInterval=0s",
            ["suites/test_rotation.py"],
            ["test_rotation_mid_run_loses_nothing"],
        ),
    ],
    ids=["no-audience", "long-refresh", "second-key-source", "refresh-disabled"],
)
def test_mutated_server_config_fails_the_suite(
    tmp_path: Path, mutation: str, selection: list[str], must_fail: list[str]
) -> None:
    result = run(tmp_path, "--mutate-server-config", mutation, *selection)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    failed = [line for line in output.splitlines() if line.startswith("FAILED")]
    for name in must_fail:
        assert any(name in line for line in failed), f"{name} did not fail:\n" + "\n".join(failed)
    if "refreshInterval" in mutation:
        assert "refreshInterval" in output  # the message names the cause
    else:
        assert "expected :" in output and "observed :" in output
