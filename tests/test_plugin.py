"""The pytest plugin on small generated suites (no server needed): requirement IDs and the report."""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

import harness.pytest_plugin

pytest_plugins = ["pytester"]

SUITE = """
import pytest
from harness.cases.evidence import check

@pytest.mark.req("AUTHZ-GUARD-001")
def test_ok(evidence):
    evidence.expected, evidence.observed = "DENIED", "DENIED"
    check(evidence, "AUTHZ-GUARD-001")

@pytest.mark.req("AUTHZ-HEALTH-001")
def test_mismatch(evidence):
    evidence.expected, evidence.observed = "ALLOWED", "DENIED"
    evidence.api, evidence.namespace, evidence.claims = "/svc/Method", "ns", {"claims": {"sub": "x"}}
    check(evidence, "AUTHZ-HEALTH-001")

@pytest.mark.req("AUTHZ-HEALTH-002")
def test_harness_error(evidence):
    raise RuntimeError("harness broke")

@pytest.mark.req("AUTHZ-HEALTH-003")
@pytest.mark.xfail(reason="known deviation", strict=True)
def test_known(evidence):
    assert False

@pytest.mark.req("AUTHZ-HEALTH-004")
def test_skip():
    pytest.skip("not applicable on this version")
"""


def verdicts_in(suite: pytest.Pytester) -> dict[str, str]:
    """Each test's verdict in the run's conformance.json, by test name."""
    data = json.loads((suite.path / "out" / "conformance.json").read_text())
    return {t["nodeid"].split("::")[1]: t["verdict"] for t in data["tests"]}


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest('pytest_plugins = ["harness.pytest_plugin"]')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = session\n")
    return pytester


def test_verdicts_and_report(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_suite=SUITE)
    result = suite.runpytest("--reports-dir", "out", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2, xfailed=1, skipped=1)
    result.stdout.fnmatch_lines(["*expected : ALLOWED*", "*observed : DENIED*", "*api      : /svc/Method*"])
    assert verdicts_in(suite) == {
        "test_ok": "PASS",
        "test_mismatch": "FAIL",
        "test_harness_error": "HARNESS_ERROR",
        "test_known": "KNOWN",
        "test_skip": "SKIP",
    }
    assert (suite.path / "out" / "report.html").exists()


def test_unknown_requirement_is_a_collection_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_bad='import pytest\n@pytest.mark.req("AUTHZ-NOPE-999")\ndef test_x():\n    pass\n')
    result = suite.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown requirement 'AUTHZ-NOPE-999'*"])


def test_suites_need_a_requirement(suite: pytest.Pytester) -> None:
    suite.mkpydir("suites")
    (suite.path / "suites" / "test_untagged.py").write_text("def test_x():\n    pass\n")
    result = suite.runpytest("suites", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no @pytest.mark.req(ID)*"])


TOKEN_IN_A_FRAME = """
import pytest
from harness.tokens.keys import rsa_key
from harness.tokens.mint import TokenSpec, mint

def call(metadata):
    raise RuntimeError("operation was canceled")

@pytest.mark.req("AUTHZ-HEALTH-002")
def test_call_fails(evidence):
    token = mint(TokenSpec(permissions=["ns:read"]), rsa_key(kid="unit")).token
    print("sent", token)
    call({"authorization": "Bearer " + token})
"""


def test_a_failure_that_shows_a_token_keeps_no_signature(suite: pytest.Pytester) -> None:
    """A traceback prints the arguments of the frame that raised: the token in them loses its signature
    in what pytest prints, in junit.xml and in conformance.json."""
    suite.makepyfile(test_suite=TOKEN_IN_A_FRAME)
    result = suite.runpytest("--reports-dir", "out", "--junitxml=out/junit.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    written = [
        str(result.stdout),
        (suite.path / "out" / "junit.xml").read_text(),
        (suite.path / "out" / "conformance.json").read_text(),
    ]
    assert "<signature redacted>" in written[0] and "<signature redacted>" in written[2]
    for text in written:
        assert re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]{20,}", text) is None


def test_the_fuzz_figures_of_each_class_end_the_run(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_fuzzed="""
import pytest

@pytest.mark.req("AUTHZ-GUARD-001")
def test_fuzzed(recorder):
    recorder.metric("fuzz", {
        "claims": {"examples": 2885, "seconds": 100.1, "examples_per_s": 28.82, "disagreements": 0},
        "jwks": {"examples": 480, "seconds": 111.1, "examples_per_s": 4.32, "disagreements": 2},
    })
"""
    )
    result = suite.runpytest("--reports-dir", "out", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "*fuzz claims: 2885 examples in 100s, 28.8 examples/s, 0 disagreement(s)",
            "*fuzz jwks: 480 examples in 111s, 4.3 examples/s, 2 disagreement(s)",
        ]
    )


HANGS = """
import asyncio
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

@pytest.mark.req("AUTHZ-GUARD-001")
async def test_waits_without_a_deadline(evidence):
    await asyncio.Event().wait()

@pytest.mark.req("AUTHZ-HEALTH-001")
async def test_a_wait_on_the_server_passed_its_deadline(evidence):
    raise TimeoutError("the key never started working")

@pytest.mark.req("AUTHZ-HEALTH-002")
async def test_quick(evidence):
    await asyncio.sleep(0)
"""


def test_a_test_past_its_ceiling_is_cancelled_as_a_harness_error(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.pytest_plugin.catalogue.CEILING_S", 0.5)
    (suite.path / "suites").mkdir()
    (suite.path / "suites" / "test_hangs.py").write_text(HANGS)
    result = suite.runpytest("suites", "--reports-dir", "out", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*ran past its ceiling of 0.5 s and was cancelled*"])
    assert verdicts_in(suite) == {
        "test_waits_without_a_deadline": "HARNESS_ERROR",
        "test_a_wait_on_the_server_passed_its_deadline": "FAIL",
        "test_quick": "PASS",
    }


NEEDS_A_FEATURE = """
import pytest
from harness.cases.runner import Case
from harness.model.features import Feature
from harness.pytest_plugin import rows

@pytest.mark.req("AUTHZ-CONFIG-005")
@pytest.mark.since(Feature.AUDIENCE)
def test_marked():
    pass

@pytest.mark.parametrize("case", rows([Case("AUTHZ-CONFIG-006", "Row", None, since=Feature.AUTH_HEADER_NAME)]))
def test_row(case):
    pass
"""


@pytest.mark.parametrize(
    ("version", "skipped"), [("v1.22.5", 2), ("v1.28.0", 1), ("v1.29.0", 0)], ids=["1.22", "1.28", "1.29"]
)
def test_since_a_feature_skips_on_releases_without_it(
    suite: pytest.Pytester, version: str, skipped: int
) -> None:
    """No server: the marker reads the release from --temporal-version (nothing asks for a server)."""
    suite.makepyfile(test_needs=NEEDS_A_FEATURE)
    result = suite.runpytest(
        "--temporal-version", version, "--reports-dir", "out", "-p", "no:cacheprovider", "-rs"
    )
    result.assert_outcomes(passed=2 - skipped, skipped=skipped)
    if skipped:
        result.stdout.fnmatch_lines(
            [f"*not applicable: audience was added in v1.29.0; server {version} has no such setting*"]
        )
    if skipped == 2:
        result.stdout.fnmatch_lines(
            [f"*not applicable: authHeaderName was added in v1.23.0; server {version} has no such setting*"]
        )


def test_since_takes_a_feature_not_a_version(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_old='import pytest\n@pytest.mark.req("AUTHZ-CONFIG-005")\n'
        '@pytest.mark.since((1, 29, 0), "audience")\ndef test_x():\n    pass\n'
    )
    result = suite.runpytest(
        "--temporal-version", "v1.28.0", "--reports-dir", "out", "-p", "no:cacheprovider"
    )
    result.stdout.fnmatch_lines(["*since() takes a Feature*"])
    assert result.ret != pytest.ExitCode.OK


DECIDING_SUITE = """
import pytest
from harness.cases.ask import Answer, Asked

def asked(observed):
    return Asked(question=None, answer=Answer(frozenset({"ALLOWED"}), "fake"), observed=observed)

@pytest.mark.req("AUTHZ-GUARD-001")
def test_compared(evidence):
    evidence.asked.extend([asked("ALLOWED"), asked("DENIED")])

@pytest.mark.req("AUTHZ-HEALTH-001")
def test_asked_but_not_observed(evidence):
    evidence.asked.append(asked(None))
"""


def test_a_run_records_its_speed_and_counts_each_compared_decision(suite: pytest.Pytester) -> None:
    """metrics.speed of one pytest run: the file's own wall time is its critical path, and a verified
    decision is a model answer with an observation to compare it with (a mismatch still counts)."""
    suite.makepyfile(test_deciding=DECIDING_SUITE)
    result = suite.runpytest("--reports-dir", "out", "-p", "no:cacheprovider")
    speed = json.loads((suite.path / "out" / "conformance.json").read_text())["metrics"]["speed"]
    assert speed["critical_path_file"] == "test_deciding.py"
    assert speed["verified_decisions"] == 2
    assert speed["cpu_counted"] == "getrusage in the pytest process: itself and every process it reaped"
    assert speed["cpu_s"] is not None and speed["cpu_s"] > 0
    assert speed["cpu_s_per_decision"] is not None
    result.stdout.fnmatch_lines(
        ["speed: wall * = *x the critical path (test_deciding.py * s); * CPU-s per *"]
    )


def test_every_hook_and_fixture_of_the_package_is_an_attribute_of_the_plugin() -> None:
    """pytest reads hooks and fixtures from the registered module's attributes only: one defined in a module
    of harness/pytest_plugin/ that its __init__.py does not import would silently never run."""
    package = Path(harness.pytest_plugin.__file__).parent
    missing = []
    for path in sorted(package.glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module(f"harness.pytest_plugin.{path.stem}")
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
            hook = node.name.startswith("pytest_")
            if (fixture or hook) and getattr(harness.pytest_plugin, node.name, None) is not getattr(
                module, node.name
            ):
                missing.append(f"{path.name}: {node.name}")
    assert not missing, "not imported by harness/pytest_plugin/__init__.py: " + ", ".join(missing)
