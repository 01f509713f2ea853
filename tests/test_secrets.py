"""Nothing a run writes holds a private key or a whole token: reports, JUnit, server and JWKS logs, and
what pytest prints, for a run that fails on purpose (so every failure path writes its evidence)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.runs import run_pytest

WHOLE_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
PRIVATE = [
    re.compile(r"BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY"),
    re.compile(r'"d"\s*:\s*"[A-Za-z0-9_-]{16,}"'),  # a JWK's private exponent / scalar
    re.compile(r'"(p|q|dp|dq|qi)"\s*:\s*"[A-Za-z0-9_-]{16,}"'),
]


def test_a_failing_run_writes_no_secret(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = run_pytest(
        reports,
        "-q",
        f"--junitxml={reports / 'junit.xml'}",
        "--mutate-server-config",
        "permissionsClaimName=roles",
        "suites/test_tokens.py",
        "suites/test_smoke.py",
        "-k",
        "test_case or sample_flow",
        env={"AUTHZ_BACKEND": "process"},
    )
    assert result.returncode == 1, (result.stdout + result.stderr)[-2000:]  # it must have failed
    written = {p: p.read_text(errors="replace") for p in reports.rglob("*") if p.is_file()}
    written["<stdout>"] = result.stdout + result.stderr  # type: ignore[index]
    assert any(name.name.endswith(".log") for name in written if isinstance(name, Path)), "no logs saved"
    assert (reports / "conformance.json").exists() and (reports / "junit.xml").exists()
    for name, text in written.items():
        assert not WHOLE_TOKEN.search(text), f"{name} holds a whole token"
        for pattern in PRIVATE:
            assert not pattern.search(text), f"{name} holds private key material ({pattern.pattern})"
    # The evidence is still there: headers and claims.
    assert '"kid": "harness-rsa"' in written[reports / "conformance.json"]
