"""The same suite gives the same verdicts on the process and the container backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.server.choose import docker_answers
from tests.runs import run_pytest

pytestmark = pytest.mark.skipif(
    not docker_answers(), reason="no Docker engine answers (start dockerd to run)"
)


def run(backend: str, reports: Path) -> dict[str, object]:
    result = run_pytest(reports, "-q", "--backend", backend, "suites/test_smoke.py", "suites/test_matrix.py")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return json.loads((reports / "conformance.json").read_text())  # type: ignore[no-any-return]


def test_process_and_container_backends_agree(tmp_path: Path) -> None:
    process = run("process", tmp_path / "process")
    container = run("container", tmp_path / "container")
    assert process["server"]["backend"] == "process"  # type: ignore[index]
    assert container["server"]["backend"] == "container"  # type: ignore[index]

    def verdicts(report: dict[str, object]) -> dict[str, str]:
        return {t["nodeid"]: t["verdict"] for t in report["tests"]}  # type: ignore[attr-defined]

    def grid(report: dict[str, object]) -> dict[str, str]:
        return {
            f"{c['token_shape']}/{c['api']}/{c['namespace_column']}": c["observed"] for c in report["grid"]
        }  # type: ignore[attr-defined]

    assert len(verdicts(process)) > 4000
    assert verdicts(process) == verdicts(container)
    assert grid(process) == grid(container)
