"""Every disagreement the fuzzer found, replayed: the committed cases under fixtures/fuzz/ (each followed
by a model fix, or recorded as a finding) and any case file given with --fuzz-case (a failure's report
prints that command). Each replays on a server of the case's class (a regex, audience, authHeaderName or
httpAllowedHosts case on a server of that config, a JWKS or rotation case on a server of its own), and its
decisions must equal the model's. Cases found by the fast oracle replay the same way: the live server is
the judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cases.evidence import Evidence, check
from harness.fuzz.check import Checker
from harness.fuzz.classes import CLASSES, ServerKind
from harness.fuzz.examples import Example, regression_files
from harness.fuzz.exercise import UNBOUNDED_CLASSES
from harness.fuzz.http_exercise import no_plaintext_http
from harness.fuzz.loop import BACKGROUND
from harness.fuzz.report import disagreement
from harness.fuzz.rotation import Rotation
from harness.fuzz.servers import FuzzServers
from harness.server.target import Target
from harness.tokens.mint import UNBOUNDED_ON_TARGET


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case_file" not in metafunc.fixturenames:
        return
    given = [Path(p) for p in metafunc.config.getoption("--fuzz-case")]
    found = given if given else regression_files()
    if not found:  # the committed cases are package data: none means a broken install, not "nothing to do"
        raise pytest.UsageError(
            "no fuzz cases under fixtures/fuzz/: reinstall the package (or give --fuzz-case FILE)"
        )
    params = []
    for path in found:
        example = Example.load(path)
        fuzz_class = CLASSES[example.fuzz_class]
        marks = [pytest.mark.req(fuzz_class.requirement)]
        if fuzz_class.server is not ServerKind.DEFAULT:
            marks.append(pytest.mark.needs_own_server)
        if example.fuzz_class in UNBOUNDED_CLASSES:
            marks.append(pytest.mark.own_server_only(f"{example.fuzz_class}: {UNBOUNDED_ON_TARGET}"))
        if fuzz_class.since is not None:
            marks.append(pytest.mark.since(fuzz_class.since))
        params.append(pytest.param(path, marks=marks, id=path.stem))
    metafunc.parametrize("case_file", params)


def test_case(case_file: Path, fuzz_servers: FuzzServers, target: Target, evidence: Evidence) -> None:
    example = Example.load(case_file)
    reports = Path(str(case_file)).parent
    evidence.extra["case"] = example.as_json()
    if example.fuzz_class == "http-headers" and (why := no_plaintext_http(target)):
        pytest.skip(why)
    if example.fuzz_class == "rotation":
        own = BACKGROUND.run(fuzz_servers.own_key_source(f"replay-{case_file.stem}"))
        Rotation(own, reports, source=case_file).replay(example.input["steps"])
        return
    done = Checker(fuzz_servers, reports).observe(example)
    evidence.expected = {t: r.expected for t, r in done.runs.items()}
    evidence.observed = {t: r.observed.outcomes for t, r in done.runs.items()}
    evidence.reason = "; ".join(
        f"{t}/{c}: {a.reason}" for t, r in done.runs.items() for c, a in r.answers.items()
    )
    for run in done.runs.values():
        evidence.asked.extend(run.asked)
    if done.differences():
        raise disagreement(done, reports, write=False, path=case_file)
    check(evidence, CLASSES[example.fuzz_class].requirement)
