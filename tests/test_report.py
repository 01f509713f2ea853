"""The JSON report (schema-checked), the HTML grid and the upgrade gate, from a synthetic run."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from harness.report import gate
from harness.report.html import render_html
from harness.report.recorder import CaseRecord, Recorder
from harness.requirements import load_catalogue
from harness.types import Verdict

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "report.schema.json").read_text())


def _recorder() -> Recorder:
    rec = Recorder(catalogue=load_catalogue())
    rec.server.update({"version": "v1.32.2", "backend": "process", "era": "1.29+"})
    rec.metric("grid_cells_per_s", 1000.0)
    cell = {
        "token_shape": "NamespaceWorker",
        "api": "WorkflowService/PollWorkflowTaskQueue",
        "namespace_column": "Own",
        "namespace": "ns",
        "expected": "DENIED",
        "observed": "DENIED",
        "status": "PERMISSION_DENIED",
    }
    rec.add(
        CaseRecord(
            "suites/x.py::test_cell[a]",
            "AUTHZ-MATRIX-001",
            Verdict.PASS,
            0.01,
            {"expected": "DENIED", "observed": "DENIED"},
            cell=cell,
        )
    )
    rec.add(
        CaseRecord(
            "suites/x.py::test_worker",
            "AUTHZ-MATRIX-002",
            Verdict.PASS,
            0.01,
            {"expected": ["GetSystemInfo"], "observed": ["GetSystemInfo"], "finding_holds": True},
        )
    )
    rec.add(
        CaseRecord(
            "suites/x.py::test_fail",
            "AUTHZ-GUARD-001",
            Verdict.FAIL,
            0.01,
            {"expected": "DENIED", "observed": "ALLOWED"},
            message="boom <script>",
        )
    )
    return rec


def test_report_matches_schema_and_lists_findings(tmp_path: Path) -> None:
    data = _recorder().write(tmp_path / "conformance.json", exit_status=1)
    jsonschema.validate(data, SCHEMA)
    assert data["summary"]["PASS"] == 2 and data["summary"]["FAIL"] == 1
    assert [f["requirement"] for f in data["findings"]] == ["AUTHZ-MATRIX-002"]
    assert data["findings"][0]["status"] == "confirmed"
    assert data["grid"][0]["verdict"] == "PASS"


def test_html_shows_grid_findings_and_failures_escaped() -> None:
    html = render_html(_recorder().to_json())
    assert "NamespaceWorker" in html and "PollWorkflowTaskQueue" in html
    assert "AUTHZ-MATRIX-002" in html and "AUTHZ-GUARD-001" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_gate_reports_changed_decisions(tmp_path: Path) -> None:
    base = _recorder().to_json()
    changed = json.loads(json.dumps(base))
    changed["grid"][0]["observed"] = "ALLOWED"
    (tmp_path / "base.json").write_text(json.dumps(gate.snapshot(base)))
    (tmp_path / "now.json").write_text(json.dumps(changed))
    (tmp_path / "same.json").write_text(json.dumps(base))
    assert gate.main(["diff", str(tmp_path / "same.json"), "--baseline", str(tmp_path / "base.json")]) == 0
    assert gate.main(["diff", str(tmp_path / "now.json"), "--baseline", str(tmp_path / "base.json")]) == 1
    changes = gate.diff(gate.snapshot(base), gate.snapshot(changed))
    assert changes == [
        'grid: NamespaceWorker x WorkflowService/PollWorkflowTaskQueue x Own: "DENIED" -> "ALLOWED"'
    ]
    assert gate.main(["diff", str(tmp_path / "missing.json")]) == 2
