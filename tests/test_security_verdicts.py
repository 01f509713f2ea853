"""The security verdict apart from conformance's: property tests through the plugin (no server needed),
the summary and its words, junit.xml, the gate's security changes, and the release-independent reading of
who is a tenant."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from harness.report.gate import render_diff_html, security_changes, security_snapshot, snapshot
from harness.report.verdict_lines import two_verdicts
from harness.security.catalogue import load_advisories, load_properties
from harness.security.checks import has_no_rights_in, tenant_namespaces
from harness.security.verdicts import security_summary
from tests.report_data import rich_report

pytest_plugins = ["pytester"]

SUITE = """
import pytest
from harness.cases.evidence import check
from harness.security.checks import hold

@pytest.mark.req("AUTHZ-GUARD-001")
def test_conformant(evidence):
    evidence.expected, evidence.observed = "DENIED", "DENIED"
    check(evidence, "AUTHZ-GUARD-001")

@pytest.mark.prop("SEC-P1", "replication-stream")
def test_stream_opened(evidence):
    hold(evidence, "SEC-P1/replication-stream", ["opened past authorization: INVALID_ARGUMENT"], 1, "openings")

@pytest.mark.prop("SEC-P2", "batch")
def test_batch_held(evidence):
    hold(evidence, "SEC-P2/batch", [], 1, "batches")

@pytest.mark.prop("SEC-P2", "by-id")
def test_setup_failed(evidence):
    raise TimeoutError("a setup step timed out")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest('pytest_plugins = ["harness.pytest_plugin"]')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = session\n")
    return pytester


def test_two_verdicts_never_mixed(suite: pytest.Pytester) -> None:
    """A violated property fails the run and names its advisory; it is not a conformance FAIL; a property
    test that broke before it could show anything is not a violation."""
    suite.makepyfile(test_suite=SUITE)
    result = suite.runpytest("--reports-dir", "out", "-p", "no:cacheprovider", "--junitxml", "out/junit.xml")
    assert result.ret == 1  # a violated property fails the run, as a FAIL does
    data = json.loads((suite.path / "out" / "conformance.json").read_text())
    assert (
        data["summary"]["total"] == 1 and data["summary"]["FAIL"] == 0
    )  # conformance counts no property test
    verdicts = {t["nodeid"].split("::")[1]: (t["verdict"], t.get("property")) for t in data["tests"]}
    assert verdicts == {
        "test_conformant": ("PASS", None),
        "test_stream_opened": ("FAIL", "SEC-P1"),
        "test_batch_held": ("PASS", "SEC-P2"),
        "test_setup_failed": ("HARNESS_ERROR", "SEC-P2"),  # not shown, not violated
    }
    security = data["security"]
    assert security["verdict"] == "violated" and security["violated"] == ["SEC-P1"]
    assert security["vulnerable_to"] == ["CVE-2026-5724"]
    assert security["properties"]["SEC-P2"]["paths"]["by-id"]["status"] == "not shown"
    result.stdout.fnmatch_lines(
        [
            "*Conformant to *'s rules: *Security: 1 property violated (CVE-2026-5724): SEC-P1*",
            "*VULNERABLE to CVE-2026-5724: *",
        ]
    )
    suites = ET.parse(suite.path / "out" / "junit.xml").getroot().iter("testsuite")
    props = {p.get("name"): p.get("value") for s in suites for p in s.iter("property")}
    assert props["security"] == "violated" and props["vulnerable_to"] == "CVE-2026-5724"
    assert props["property"] in ("SEC-P1/replication-stream", "SEC-P2/batch", "SEC-P2/by-id")


def test_a_security_test_names_a_known_property_and_path(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_bad='import pytest\n@pytest.mark.prop("SEC-P2", "no-such-path")\ndef test_x():\n    pass\n'
        '@pytest.mark.prop("SEC-P2", "batch")\n@pytest.mark.req("AUTHZ-GUARD-001")\ndef test_y():\n    pass\n'
    )
    result = suite.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*SEC-P2/no-such-path: not a property path*", "*two verdicts, never mixed*"])


def _tests(**statuses: str) -> list[dict[str, str]]:
    return [
        {"nodeid": f"t{i}", "property": path.split("/")[0], "path": path.split("/")[1], "verdict": v}
        for i, (path, v) in enumerate(
            (k.replace("__", "/").replace("_", "-"), v) for k, v in statuses.items()
        )
    ]


def test_the_summary_names_what_was_shown() -> None:
    every = [
        {"nodeid": f"{p.id}", "property": p.prop, "path": p.name, "verdict": "PASS"}
        for prop in load_properties().values()
        for p in prop.paths.values()
    ]
    held = security_summary(every, "v1.32.2")
    assert held["verdict"] == "holds" and held["line"].startswith("Security: every property held")
    assert all(
        row["status"] in ("not reproduced", "not reproducible here") for row in held["advisories"].values()
    )
    partial = security_summary(every[:3], "v1.32.2")
    assert partial["verdict"] == "not shown" and "not shown" in partial["line"]
    nothing = security_summary([], "v1.32.2")
    assert nothing["line"] == "Security: nothing shown (no property test ran)"


def test_a_vulnerable_line_says_where_the_fix_is() -> None:
    tests = [{"nodeid": "x", "property": "SEC-P2", "path": "batch-forged", "verdict": "FAIL"}]
    summary = security_summary(tests, "v1.30.1")
    row = summary["advisories"]["CVE-2026-5199"]
    assert row["status"] == "VULNERABLE" and row["line"].endswith("fixed in v1.30.3")
    lines = two_verdicts({"total": 10, "PASS": 10}, summary, "v1.30.1")
    assert lines[0] == (
        "Conformant to v1.30.1's rules: yes. Security: 1 property violated (CVE-2026-5199): SEC-P2"
    )
    assert lines[1].startswith("VULNERABLE to CVE-2026-5199: a writer in namespace A")


def test_the_gate_lists_security_changes_first() -> None:
    before, after = rich_report(), rich_report()
    # before: the stream path violated (CVE-2026-5724), after: held; and a new violation appears.
    for test in after["tests"]:
        if test.get("path") == "replication-stream":
            test["verdict"] = "PASS"
        if test.get("path") == "batch":
            test["verdict"] = "FAIL"
    after["security"] = security_summary([t for t in after["tests"] if t.get("property")], "v1.32.2")
    found = security_changes(snapshot(before), snapshot(after))
    lines = [c.line() for c in found]
    assert lines[0] == "property SEC-P2/batch: newly violated (was holds)"
    assert "advisory CVE-2026-5724: fixed" in lines
    assert security_changes(snapshot(before), snapshot(before)) == []
    assert security_snapshot(before["security"])["advisories"]["CVE-2026-5724"] == "VULNERABLE"
    page = render_diff_html(before, after)
    assert 'id="security-changes"' in page and "advisory CVE-2026-5724: fixed" in page


@pytest.mark.parametrize(
    ("permissions", "namespace", "no_rights"),
    [
        (["a:write"], "b", True),
        (["a:admin", "c:read"], "b", True),
        (["B:read"], "b", False),  # 1.20 folds case: B is b there
        (["temporal-system:read"], "b", False),
        (["system:admin"], "b", False),  # the system scope on 1.20
        ([":read"], "b", False),  # an empty namespace reaches calls that carry none
        (["admin"], "b", False),  # not ns:role: not read as anybody's
        ([], "b", True),
        (None, "b", True),
    ],
)
def test_who_is_a_tenant_does_not_depend_on_the_release(
    permissions: list[str] | None, namespace: str, no_rights: bool
) -> None:
    assert has_no_rights_in(permissions, namespace) is no_rights
    assert tenant_namespaces(["a:write", "a:read"]) == {"a"}


def test_every_advisory_case_is_a_property_path_with_a_test() -> None:
    """The catalogues are closed: every advisory names paths that exist; every path has a test in suites/."""
    from pathlib import Path

    suites = "\n".join(
        p.read_text() for p in (Path(__file__).resolve().parent.parent / "suites").glob("test_*.py")
    )
    for prop in load_properties().values():
        for path in prop.paths.values():
            assert f'"{path.prop}", "{path.name}"' in suites, f"{path.id} has no test in suites/"
    for advisory in load_advisories().values():
        assert advisory.cases or advisory.not_reproduced
