"""`temporal-authz profile` against a real server, run as a user runs it (a subprocess): the samples-go
sample's profile matches its intent apart from the differences it documents, and a profile with a mistake
in its intent exits 1 with the line that says what to change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.runs import ROOT, run_env

SAMPLE = ROOT / "fixtures" / "profiles" / "samples-go-serverjwtauth.yaml"


def run_profile(path: Path, out: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    env = run_env()
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "profile", str(path), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, env["AUTHZ_RUN_TAG"]


def left_behind(tag: str) -> list[str]:
    found = subprocess.run(["pgrep", "-af", f"authz-server-{tag}-"], capture_output=True, text=True)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


def test_the_sample_profile_against_a_real_server(tmp_path: Path) -> None:
    result, tag = run_profile(SAMPLE, tmp_path / "profile.json")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "unexpected differences (0):" in output
    assert (
        "sample-admin-before-2024: intended to read cluster info; the server DENIES ListNamespaces, GetClusterInfo, "
        "GetSearchAttributes: no entry grants a system role (`temporal-system:...`)"
    ) in output
    report = json.loads((tmp_path / "profile.json").read_text())
    assert report["server"]["backend"] == "process" and report["exit_status"] == 0
    assert [d["expected"] for d in report["differences"]] == [True, True]
    assert report["model_disagreements"] == [] and report["expected_not_seen"] == []
    probed = [c for p in report["principals"] for c in p["calls"]]
    assert len(probed) > 100 and all(c["server"] == c["model"] for c in probed)
    assert not left_behind(tag)


MISTAKE = """
name: payments team
namespaces: [payments]
principals:
  - name: payments-worker
    note: "the mistake: `worker` looks like the role a worker needs"
    claims: {sub: payments-worker, permissions: ["payments:worker"]}
    allow:
      - groups: [poll]
"""


def test_a_mistaken_intent_exits_1_with_a_readable_line(tmp_path: Path) -> None:
    path = tmp_path / "mistake.yaml"
    path.write_text(MISTAKE)
    result, tag = run_profile(path, tmp_path / "profile.json")
    assert result.returncode == 1, (result.stdout + result.stderr)[-3000:]
    assert (
        "  payments-worker: intended to poll in payments; the server DENIES PollWorkflowTaskQueue, "
        "PollActivityTaskQueue, PollNexusTaskQueue and 15 more: `payments:worker` grants nothing "
        "(worker=1 is below reader=2); add `payments:write`\n"
    ) in result.stdout
    assert "result: the server differs from its intent: exit status 1" in result.stdout
    assert not left_behind(tag)
