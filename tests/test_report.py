"""The JSON report (schema-checked), the HTML grid and the upgrade gate, from a synthetic run."""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

import jsonschema

from harness.report import gate
from harness.report.formatting import anchor_ids, metric_label, plain, seconds
from harness.report.html import render_html
from harness.report.recorder import CaseRecord, Recorder
from harness.requirements import load_catalogue
from harness.types import Verdict
from tests.report_data import FAIL_NODEID, MISMATCH_NODEID, rich_report

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
    assert "boom <script>" not in html and "boom &lt;script&gt;" in html


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
        "PollWorkflowTaskQueue (WorkflowService), token NamespaceWorker, Own namespace: DENIED -> ALLOWED"
    ]
    assert gate.main(["diff", str(tmp_path / "missing.json")]) == 2


def test_gate_lists_a_changed_http_cell_once_as_its_cell_not_again_as_its_test() -> None:
    nodeid = "suites/test_http.py::test_http_cell[NamespaceReader-DescribeNamespace-Own]"
    cell = {
        "token_shape": "NamespaceReader",
        "api": "WorkflowService/DescribeNamespace",
        "namespace_column": "Own",
        "observed": "ALLOWED",
        "surface": "http",
        "test": nodeid,
    }
    test = {
        "nodeid": nodeid,
        "requirement": "AUTHZ-HTTP-001",
        "verdict": "PASS",
        "evidence": {"observed": "ALLOWED"},
    }
    before = {"grid": [cell], "tests": [test]}
    after = json.loads(json.dumps(before))
    after["grid"][0]["observed"] = after["tests"][0]["evidence"]["observed"] = "DENIED"
    assert gate.diff(gate.snapshot(before), gate.snapshot(after)) == [
        "DescribeNamespace (WorkflowService over http), token NamespaceReader, Own namespace: ALLOWED -> DENIED"
    ]
    skipped = {"nodeid": nodeid, "requirement": "AUTHZ-HTTP-001", "verdict": "SKIP", "evidence": {}}
    assert gate.snapshot({"grid": [], "tests": [skipped]})["tests"] == {}  # no HTTP API (before 1.22)


def _doors_run(
    port: int, directory: str, jwks_port: int, closed: str = "closed to anonymous admin calls"
) -> Any:
    """A run whose doors test names ports and the server's directory, as test_doors.py records them."""
    run = _recorder().to_json()
    run["tests"].append(
        {
            "nodeid": "suites/test_doors.py::test_no_port_answers_an_anonymous_admin_call",
            "requirement": "AUTHZ-DOOR-001",
            "verdict": "PASS",
            "evidence": {
                "observed": {
                    f"frontend grpcPort :{port} ({directory})": closed,
                    f"unnamed port :{port + 1} ({directory})": "closed to anonymous admin calls",
                    f"unnamed port :{port + 2} ({directory})": "closed to anonymous admin calls",
                    f"jwks fixture (http://127.0.0.1:{jwks_port})": "closed to anonymous admin calls",
                    "crash": f"UNAVAILABLE 'ipv4:127.0.0.1:{port}: recvmsg:Connection reset by peer (104)'",
                }
            },
        }
    )
    return run


def test_gate_ignores_ports_and_server_directories_but_not_a_changed_door() -> None:
    """Two runs of one version pick different free ports: that is no change (the matrix once listed 11
    "absent" and 11 "appeared" doors between every pair). A door that opens still is one."""
    before = gate.snapshot(_doors_run(44765, "authz-server-3d5080fca4s2-juj5jag0", 42347))
    after = gate.snapshot(_doors_run(43391, "authz-server-92a8946b23s2-ds_xsf6l", 40001))
    assert gate.diff(before, after) == []
    raw = _doors_run(44765, "authz-server-3d5080fca4s2-juj5jag0", 42347)
    legacy = {
        **gate.snapshot(raw),
        "tests": {
            t["nodeid"]: t.get("evidence", {}).get("observed", t["verdict"])
            for t in raw["tests"]
            if "test_cell[" not in t["nodeid"]
        },
    }
    assert gate.diff(gate.as_snapshot(legacy), after) == []  # a baseline written before ports were stripped
    opened = gate.snapshot(_doors_run(43391, "authz-server-x", 40001, closed="ANSWERS anonymous admin calls"))
    assert [c for c in gate.diff(before, opened) if "frontend grpcPort :<port>" in c]


# -- the rich synthetic run: every schema part, and the page a person reads ------------------------


def unexercised(schema: dict[str, Any], instances: list[Any], path: str = "$") -> list[str]:
    """Schema properties that no instance carries (where an array's items are the instances below it)."""
    missing = []
    for name, sub in (schema.get("properties") or {}).items():
        values = [i[name] for i in instances if isinstance(i, dict) and name in i]
        if not values:
            missing.append(f"{path}.{name}")
            continue
        if "items" in sub:
            values = [item for v in values if isinstance(v, list) for item in v]
            missing += unexercised(sub["items"], values, f"{path}.{name}[]")
        else:
            missing += unexercised(sub, values, f"{path}.{name}")
    return missing


def test_rich_report_matches_the_schema_and_exercises_every_part(tmp_path: Path) -> None:
    data = rich_report()
    jsonschema.validate(data, SCHEMA)
    assert unexercised(SCHEMA, [data]) == []
    statuses = {f["status"] for f in data["findings"]}
    assert statuses == {"confirmed", "not confirmed", "refuted"}
    assert {c["observed"] for c in data["grid"]} == {"ALLOWED", "DENIED", "ABSENT", "ERROR"}
    assert {c["surface"] for c in data["grid"]} == {"grpc", "http"}
    assert all(c["test"] in {t["nodeid"] for t in data["tests"]} for c in data["grid"])


def _evidence_of(html: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="evidence-data">(.*?)</script>', html, re.S)
    assert block is not None
    return dict(json.loads(block.group(1)))


def test_html_says_the_verdict_first_and_grades_what_it_shows() -> None:
    html = render_html(rich_report())
    verdict = re.search(r'id="verdict-line">([^<]*)<', html)
    assert verdict is not None
    assert verdict.group(1).startswith("Not conformant: 4 failed, 1 harness error of 41 tests: ")
    assert "AUTHZ-GUARD-001 (1 test)" in verdict.group(1) and "1 finding confirmed" in verdict.group(1)
    assert html.index('id="verdict-line"') < html.index('id="findings"') < html.index('id="grid"')
    for grade in ("g-pass", "g-finding", "g-known", "g-fail", "g-harness-error", "g-skip"):
        assert f'class="badge {grade}"' in html
    assert "not confirmed" in html and "refuted" in html and "AUTHZ-MATRIX-002" in html


def test_html_groups_the_grid_by_access_and_heads_columns_with_claims() -> None:
    html = render_html(rich_report())
    labels = re.findall(r'<tr class="grp"><th[^>]*>([^<]*)<', html)
    assert labels == [
        "Read-only methods (need a reader role) ",
        "Write methods (need a writer role) ",
        "Admin methods (need an admin role) ",
        "Methods not in the API table for v1.32.2 ",
    ]
    assert "authz-matrix: read, write" in html and "no token" in html and "no permissions claim" in html
    assert "probe namespace: Own (authz-matrix)" in html and "probe namespace: Other (authz-other)" in html
    assert len(re.findall(r'<td class="c [^"]* mm"', html)) == 2  # the mismatch and the error
    assert "<option>http</option>" in html and "<option>grpc</option>" in html


def test_html_reads_the_shapes_claims_from_the_tokens_when_the_run_did_not_describe_them() -> None:
    data = rich_report()
    data["coverage"]["token_shapes"] = len(data["coverage"]["token_shapes"])  # as runs before 1.1's shapes
    html = render_html(data)
    assert "authz-matrix: read, write" in html and "no token" in html and "no permissions claim" in html


def test_html_links_every_test_and_cell_to_its_evidence() -> None:
    data = rich_report()
    html = render_html(data)
    evidence = _evidence_of(html)
    anchors = anchor_ids(t["nodeid"] for t in data["tests"])
    assert [t["id"] for t in evidence["tests"]] == anchors
    assert all(f'<tr id="{a}" ' in html for a in anchors)
    fields = evidence["cellFields"]
    cells = [dict(zip(fields, c, strict=True)) for c in evidence["cells"]]
    assert len(cells) == len(data["grid"])
    mismatch = next(c for c in cells if evidence["tests"][c["test"]]["nodeid"] == MISMATCH_NODEID)
    assert (mismatch["expected"], mismatch["observed"], mismatch["grade"]) == ("DENIED", "ALLOWED", "fail")
    moving = [c for c in cells if c["expected"] == "ALLOWED or DENIED"]
    assert len(moving) == 1
    tokens = [evidence["tokens"][t["token"]] for t in evidence["tests"] if t["token"] >= 0]
    with_claims = [t for t in data["tests"] if "claims" in (t.get("evidence") or {})]
    assert len(tokens) == len(with_claims) and len(evidence["tokens"]) == 4  # one per token shape
    assert tokens == [t["evidence"]["claims"] for t in with_claims]
    failed = next(t for t in evidence["tests"] if t["nodeid"] == FAIL_NODEID)
    assert failed["evidence"]["extra"]["server"]["write"].startswith("PERMISSION_DENIED")
    assert failed["message"].startswith("boom <script>")  # kept whole in the data, escaped in the page
    assert "</script>alert" not in html


def test_html_shows_metrics_and_mutants_readably() -> None:
    html = render_html(rich_report())
    assert "3 samples: min 517 ms, median 882.1 ms, max 1.24 s" in html
    assert "started 120, completed 120, lost 0" in html
    assert "[0.517" not in html and "{&#39;" not in html and "None" not in html
    assert "1 of 2 killed" in html and "survived: exp-leeway-1s" in html


def test_html_for_a_clean_run_says_conformant() -> None:
    rec = _recorder()
    rec.records = [r for r in rec.records if r.verdict is Verdict.PASS]
    html = render_html(rec.to_json(exit_status=0))
    assert 'id="verdict-line">Conformant: 2 tests, none failed; 1 finding confirmed.<' in html


def test_readable_values() -> None:
    labels = {
        "server_start_to_ready_s": "server start to ready",
        "grid_cells_per_s": "grid cells per second",
        "grid_wall_s": "grid wall-clock time",
    }
    for name, label in labels.items():
        assert metric_label(name) == label
    assert [seconds(0.0005), seconds(1.731), seconds(211.44)] == ["0.5 ms", "1.73 s", "3 min 31 s"]
    assert plain([0.5, 1.5, 1.0], "s") == "3 samples: min 500 ms, median 1 s, max 1.5 s"
    assert plain({"lost": 0, "names": ["a", "b"]}) == "lost 0, names a, b"
    assert plain(None) == "-" and plain(True) == "yes" and plain(12345) == "12,345"
    assert anchor_ids(["a/b.py::t[x y]", "a/b.py::t[x-y]"]) == ["test-a-b-py-t-x-y", "test-a-b-py-t-x-y-2"]


# -- the gate's diff as a page -------------------------------------------------------------------------


def test_gate_renders_only_what_changed(tmp_path: Path) -> None:
    base = rich_report()
    now = json.loads(json.dumps(base))
    now["server"]["version"] = "v1.33.0"
    flips = {"ALLOWED": "DENIED", "DENIED": "ALLOWED"}
    grpc = [c for c in now["grid"] if c["surface"] == "grpc"]
    first_allowed = next(c for c in grpc if c["observed"] == "ALLOWED")
    first_denied = next(c for c in grpc if c["observed"] == "DENIED")
    for cell in (first_allowed, first_denied):
        cell["observed"] = flips[cell["observed"]]
    for cell in now["grid"]:
        if cell["api"] == "OperatorService/DeleteNamespace":
            cell["observed"] = "ABSENT"
    (tmp_path / "report.html").write_text(render_html(now))
    (tmp_path / "conformance.json").write_text(json.dumps(now))
    (tmp_path / "base.json").write_text(json.dumps(base))  # a whole report serves as the baseline
    out = tmp_path / "gate.html"
    args = ["diff", str(tmp_path / "conformance.json"), "--baseline", str(tmp_path / "base.json")]
    assert gate.main([*args, "--html", str(out)]) == 1
    page = out.read_text()
    assert "Regressions: allowed before, denied now <small>1:" in page
    assert "Newly allowed: denied before, allowed now <small>1:" in page
    assert "Absent <small>8:" in page and "OperatorService/DeleteNamespace" in page
    assert "WorkflowService/MethodOfATomorrowServer" not in page  # unchanged: not shown
    assert 'href="report.html#test-' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    same = gate.render_diff_html(base, base)
    assert "No decision changed" in same


def test_gate_keeps_surfaces_apart() -> None:
    data = rich_report()
    keys = gate.snapshot(data)["grid"]
    assert "NamespaceReader x WorkflowService/DescribeNamespace x Own" in keys  # gRPC, as baselines have it
    assert "NamespaceReader x WorkflowService/DescribeNamespace x Own x http" in keys
    assert len(keys) == len(data["grid"])


def test_report_page_loads_nothing_from_anywhere() -> None:
    html = render_html(rich_report())
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


# -- the versions a verdict depends on, and the gate between runs that used different ones ---------------


def test_the_report_records_the_installed_versions_the_verdicts_depend_on() -> None:
    data = _recorder().to_json()
    jsonschema.validate(data, SCHEMA)
    assert data["tool"]["versions"] == {
        name: importlib.metadata.version(name) for name in ("temporalio", "grpcio", "protobuf", "PyJWT")
    }
    assert gate.snapshot(data)["tool_versions"] == data["tool"]["versions"]  # a baseline keeps them


def _with_temporalio(report: dict[str, Any], version: str) -> dict[str, Any]:
    changed: dict[str, Any] = json.loads(json.dumps(report))
    changed["tool"]["versions"]["temporalio"] = version
    return changed


def test_the_gate_warns_in_one_line_when_the_runs_used_different_versions(
    tmp_path: Path, capsys: Any
) -> None:
    base = _recorder().to_json()
    (tmp_path / "base.json").write_text(json.dumps(gate.snapshot(_with_temporalio(base, "1.34.0"))))
    (tmp_path / "now.json").write_text(json.dumps(_with_temporalio(base, "1.36.0")))
    (tmp_path / "same.json").write_text(json.dumps(_with_temporalio(base, "1.34.0")))
    (tmp_path / "old.json").write_text(json.dumps({k: v for k, v in base.items() if k != "tool"}))
    args = ["--baseline", str(tmp_path / "base.json")]
    assert gate.main(["diff", str(tmp_path / "now.json"), *args]) == 0  # a warning, not a failure
    warnings = [line for line in capsys.readouterr().out.splitlines() if "WARNING" in line]
    assert warnings == [
        "gate: WARNING: the runs used different temporalio (1.34.0 vs 1.36.0): a difference may be the "
        "tool's, not the server's"
    ]
    for quiet in ("same.json", "old.json"):  # the same versions; a run that does not say which
        assert gate.main(["diff", str(tmp_path / quiet), *args]) == 0
        assert "WARNING" not in capsys.readouterr().out
