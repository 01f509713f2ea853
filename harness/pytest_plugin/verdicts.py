"""A case's verdict from its reports: PASS, FAIL (the server did not do what is required), SKIP, KNOWN or
HARNESS_ERROR (the harness broke), recorded with its evidence; no token's signature in what is reported."""

from __future__ import annotations

from collections.abc import Generator

import grpc
import pytest
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError

from harness.cases.evidence import Evidence, Mismatch
from harness.errors import HarnessError
from harness.pytest_plugin.keys import EVIDENCE, RECORDER
from harness.report.recorder import CaseRecord
from harness.security.checks import PropertyViolated
from harness.tokens.redact import redact_tokens
from harness.types import Verdict

# Exceptions that show the server did not do what a requirement says, however they surface.
SERVER_DEVIATIONS: tuple[type[BaseException], ...] = (
    AssertionError,
    TimeoutError,
    RPCError,
    grpc.aio.AioRpcError,
    TemporalError,
)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Fill it in a test: it is printed on failure and lands in the JSON report."""
    req = request.node.get_closest_marker("req")
    ev = Evidence(requirement=req.args[0] if req is not None and req.args else "")  # check() reads it
    request.node.stash[EVIDENCE] = ev
    return ev


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _redact(report)
    marks = list(item.iter_markers("req"))
    prop = item.get_closest_marker("prop")
    if not marks and prop is None:
        return report
    # What the test checks, as junit.xml <property> entries (CI tools group by them).
    labels = [("property", f"{prop.args[0]}/{prop.args[1]}")] if prop else [("requirement", marks[0].args[0])]
    if report.when == "setup" and labels[0] not in item.user_properties:
        item.user_properties.extend(labels)
    verdict = verdict_of(report, call)
    if verdict is None:
        return report
    ev = item.stash.get(EVIDENCE, None)
    message = ""
    if report.failed or report.skipped:
        message = _short(report)
    if prop is not None and verdict is Verdict.FAIL and not _violated(call):
        # A property is violated only by what the test shows (PropertyViolated): a server error on the
        # way (a setup step refused, a wait past its deadline) shows nothing about the property.
        verdict = Verdict.HARNESS_ERROR
        report.sections.append(("verdict", "not shown: the case did not get as far as the property"))
    if verdict is Verdict.HARNESS_ERROR and report.when == "call":
        report.sections.append(("verdict", "HARNESS_ERROR: the harness itself broke (not the server)"))
    mismatch = call.excinfo is not None and call.excinfo.errisinstance(Mismatch)
    if verdict is Verdict.FAIL and ev is not None and ev.expected is not None and not mismatch:
        report.sections.append(("conformance evidence", ev.render()))
    item.config.stash[RECORDER].add(
        CaseRecord(
            nodeid=item.nodeid,
            requirement=prop.args[0] if prop else marks[0].args[0],
            verdict=verdict,
            duration_s=report.duration,
            evidence=ev.as_dict() if ev is not None else {},
            message=message,
            cell=ev.cell if ev is not None and ev.cell else None,
            asked=list(ev.asked) if ev is not None else [],
            prop=prop.args[0] if prop else "",
            path=prop.args[1] if prop else "",
        )
    )
    return report


def _violated(call: pytest.CallInfo[None]) -> bool:
    return call.excinfo is not None and call.excinfo.errisinstance(PropertyViolated)


def is_server_deviation(exc: BaseException) -> bool:
    """FAIL for anything that shows the server not doing what the requirement says (an assertion, a
    wait that passed its deadline, an RPC error, a failed workflow), however deep in a chain; else the
    harness broke."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, HarnessError):
            return False
        if isinstance(current, SERVER_DEVIATIONS):
            return True
        if isinstance(current, RuntimeError) and str(current).startswith("Failed client connect"):
            return True  # the SDK could not reach the server at all: the server's failure, not ours
        if isinstance(current, BaseExceptionGroup):
            return any(is_server_deviation(e) for e in current.exceptions)
        current = current.__cause__ or current.__context__
    return False


def verdict_of(report: pytest.TestReport, call: pytest.CallInfo[None]) -> Verdict | None:
    if report.when == "setup":
        if report.skipped:
            return Verdict.SKIP
        if report.failed:
            return Verdict.HARNESS_ERROR  # a fixture failed: the harness could not set up the case
        return None
    if report.when != "call":
        return None
    if hasattr(report, "wasxfail"):
        return Verdict.KNOWN
    if report.skipped:
        return Verdict.SKIP
    if report.passed:
        return Verdict.PASS
    if call.excinfo is not None and is_server_deviation(call.excinfo.value):
        return Verdict.FAIL
    return Verdict.HARNESS_ERROR


def _redact(report: pytest.TestReport) -> None:
    """No token's signature in what pytest prints or junit.xml keeps: a traceback shows the metadata a
    failed call was given."""
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longreprtext)
        redacted = redact_tokens(text)
        if redacted != text:
            report.longrepr = redacted
    report.sections = [(title, redact_tokens(body)) for title, body in report.sections]


def _short(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    return str(report.longreprtext)[-2000:]
