"""permissionsRegex runs on the RE2 engine (google-re2), linear in the text like Go's regexp: a pattern a
backtracking engine takes minutes on answers at once, the committed fuzz cases still answer as the server
did, and the corners where C++ RE2 and Go differ (checked against Go 1.26's regexp) read as Go's."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.api_tables import load_table
from harness.fuzz import calls
from harness.fuzz.examples import REGRESSIONS, Example
from harness.model import decide, re2, rules_for
from harness.model.claims import claims_from_payload
from harness.server.config import ServerSettings
from harness.settings import DEFAULT_VERSION
from harness.types import Outcome, Role
from tests.model_helpers import NOW, RING, RSA, credential, token

REDOS = r"^(?P<namespace>(a|aa)+):(?P<role>read)$"
HANG_GUARD = 60  # seconds: only a hang fails; the time taken is printed, never compared


def test_the_engine_is_the_installed_re2_binding_not_the_model_module() -> None:
    assert re2.engine.__name__ == "re2"
    assert Path(re2.engine.__file__ or "").resolve() != Path(re2.__file__ or "").resolve()
    assert hasattr(re2.engine, "Options") and hasattr(re2.engine, "compile")


@pytest.mark.parametrize("length", [30, 3000])
def test_a_pattern_that_backtracks_for_minutes_answers_through_the_cli(length: int, tmp_path: Path) -> None:
    """`temporal-authz explain --regex '^(?P<namespace>(a|aa)+):...'` with a permission of `length`
    characters that almost matches: Python's re took 21 s on 30 characters and never ended on 3,000."""
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps({"sub": "x", "permissions": ["a" * (length - 1) + "!"]}))
    command = [sys.executable, "-m", "harness.cli", "explain", "--claims", str(claims), "--regex", REDOS]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=HANG_GUARD, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"explain with a {length}-character permission did not answer in {HANG_GUARD} s")
    print(f"explain, {length}-character permission: {time.perf_counter() - started:.2f} s")
    assert done.returncode == 0, done.stderr
    assert "it does not match permissionsRegex" in done.stdout


def test_a_pattern_that_backtracks_answers_in_the_model() -> None:
    """The model alone, in a child process (a hang is a failure, not a stuck run)."""
    script = (
        "import time\n"
        "from harness.model import re2\n"
        f"pattern = re2.translate({REDOS!r})\n"
        "for n in (30, 3000, 300000):\n"
        "    started = time.perf_counter()\n"
        "    found = pattern.submatches('a' * (n - 1) + '!')\n"
        "    print(n, found, f'{time.perf_counter() - started:.4f} s')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG_GUARD, check=True
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the model did not answer in {HANG_GUARD} s")
    print(done.stdout)
    assert [line.split()[:2] for line in done.stdout.splitlines()] == [
        ["30", "None"],
        ["3000", "None"],
        ["300000", "None"],
    ]


def test_patterns_built_to_slow_the_parser_are_read_at_once() -> None:
    """The parser is linear too (and never recurses): a class full of `[:` with no `:]`, a class whose
    first `[:` runs to the last `:]`, thousands of groups and repeats, groups nested 999 deep."""
    patterns = [
        "'[' + '[:' * 50000 + 'x]'",
        "'[' + '[:' * 50000 + ']'",
        "'(a)' * 20000",
        "'(' * 999 + 'a' + ')' * 999",
        "'(?:' * 999 + 'a' + ')' * 999",
        "'a{2}' * 20000",
        "'\\\\Qa' * 20000",
    ]
    script = (
        "from harness.model import re2\n"
        f"for pattern in [{', '.join(patterns)}]:\n"
        "    try:\n"
        "        re2.translate(pattern)\n"
        "        print('accepted')\n"
        "    except re2.Re2Error:\n"
        "        print('refused')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG_GUARD, check=True
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the parser did not answer in {HANG_GUARD} s")
    # As Go 1.26 answers: the second class names the POSIX class `[:[:[:...:]`, which does not exist.
    assert done.stdout.split() == ["accepted", "refused", *["accepted"] * 5]


# Go 1.26's regexp on the same patterns and texts (FindStringSubmatch; None: no match). Corners where C++
# RE2 or the parser's old Python reading differ from Go.
@pytest.mark.parametrize(
    ("pattern", "text", "submatches"),
    [
        (r"\B", "k\u212aK", None),  # Go tries runes; C++ RE2 bytes, and \B holds inside U+212A
        (r"\B", "", ("",)),  # Python's re never matches \B on empty text
        (r"\B(?P<n>)|(?P<m>a+):", "K\u212aa:", ("a:", "", "a")),
        (r"((a{1000}){0}){2}", "a", ("", "", "")),  # C++ RE2 counts repeats inside {0}; Go does not
        (r"(a){0}b", "ab", ("b", "")),
        (r"a*(?i)*", "aa", ("aa",)),  # a flag group ends the run of repetition operators
        (r"(\w+):(\w+)", "\ud800x:y", ("x:y", "x", "y")),  # a lone surrogate is U+FFFD, as Go reads it
        (r"^(.)", "\ud800", ("\ufffd", "\ufffd")),
    ],
)
def test_corners_read_as_go_reads_them(pattern: str, text: str, submatches: tuple[str, ...] | None) -> None:
    assert re2.translate(pattern).submatches(text) == submatches


@pytest.mark.parametrize(
    "pattern", [r"(a{100}){100}", r"((a{10}){10}){11}", "\ud800", r"(?:(?:a{2}){2}){251}", r"a{1001}"]
)
def test_repeats_over_a_thousand_copies_and_bad_utf8_are_refused_as_go_refuses_them(pattern: str) -> None:
    with pytest.raises(re2.Re2Error):
        re2.translate(pattern)


def test_spans_are_in_characters() -> None:
    translated = re2.translate(r"(?P<namespace>\w+)?:(?P<role>\w+)|(x)")
    assert translated.spans("\u00e9\u00e9ab:cd") == [(2, 7), (2, 4), (5, 7), (-1, -1)]
    assert translated.spans("--") is None


# What the server did with each committed regex case (its note), as roles and allowed calls.
REGEX_CASES: dict[str, tuple[dict[str, Role], set[str]]] = {
    "regex-lookbehind": ({"authz-other": Role.UNDEFINED}, {"exempt"}),  # refused: role `read:extra`
    "regex-possessive": ({"x/authz-conformance": Role.READER}, {"exempt"}),  # refused: ns:role split
    "regex-quoted-literal": ({"authz-conformance": Role.READER}, {"exempt", "own-read"}),
    "regex-ungreedy-flag": ({"authz-conformance": Role.UNDEFINED}, {"exempt"}),  # role `r`
    "regex-unicode-class": ({"authz-conformance": Role.READER}, {"exempt", "own-read"}),
    "regex-verbose-flag": ({}, {"exempt"}),  # refused: system scope, role `Write\n`
    "regex-word-class-is-ascii": ({"authz-other": Role.WRITER}, {"exempt", "other-read", "other-write"}),
}


def test_every_committed_regex_case_is_pinned_here() -> None:
    assert sorted(p.stem for p in REGRESSIONS.glob("regex-*.json")) == sorted(REGEX_CASES)


@pytest.mark.parametrize("name", sorted(REGEX_CASES))
def test_committed_regex_cases_answer_as_the_server_did(name: str) -> None:
    example = Example.load(REGRESSIONS / f"{name}.json")
    config = ServerSettings(authorization={"permissionsRegex": example.input["regex"]}).auth_config()
    rules, table = rules_for(DEFAULT_VERSION), load_table(DEFAULT_VERSION)
    payload = {"sub": "fuzz", "permissions": list(example.input["permissions"]), "exp": NOW + 600}
    roles, allowed = REGEX_CASES[name]
    assert dict(claims_from_payload(payload, config, rules).namespaces) == roles
    cred = credential(token(payload), RSA.fingerprint)
    outcomes = {
        call.label: decide.expect(
            cred, call.target, rules=rules, table=table, keyring=RING, config=config, now=NOW
        ).outcome
        for call in calls.by_label(example.calls)
    }
    assert outcomes == {
        label: Outcome.ALLOWED if label in allowed else Outcome.DENIED for label in example.calls
    }


def test_a_refused_pattern_is_parsed_once_and_refused_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    parse = re2.Parser.parse

    def counted(self: re2.Parser) -> str:
        parsed.append("parsed")
        return parse(self)

    monkeypatch.setattr(re2.Parser, "parse", counted)
    pattern = f"(?P<namespace>a)(?P<role>b)(?<=x){time.monotonic()}"  # lookbehind: Go refuses it
    refusals = []
    for _ in range(3):
        with pytest.raises(re2.Re2Error) as refused:
            re2.translate(pattern)
        refusals.append(refused.value)
    assert len(parsed) == 1 and len({id(r) for r in refusals}) == 3
    assert len({str(r) for r in refusals}) == 1
