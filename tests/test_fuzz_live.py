"""The fuzzer against live servers, in subprocesses as a user runs it: it finds and shrinks a wrong rule
within the CI budget, the command its report prints replays exactly that example on a fresh server, and
a stored key-rotation run replays step by step."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from tests.runs import run_pytest

MUTANT = "namespaces-case-insensitive"
KNOWN_NAMESPACES = ("authz-conformance", "authz-other", "temporal-system")


def minimal_inputs(output: str) -> list[dict[str, object]]:
    return [json.loads(m) for m in re.findall(r"^E\s+minimal input: (.*)$", output, re.MULTILINE)]


def namespaces_in(value: object) -> list[str]:
    """The namespace part of every permission string in an input (before its first colon)."""
    if isinstance(value, str):
        return [value.split(":", 1)[0]] if ":" in value else []
    if isinstance(value, dict):
        return [n for v in value.values() for n in namespaces_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in namespaces_in(v)]
    return []


def differs_only_in_case(name: str) -> bool:
    return any(name != known and name.lower() == known for known in KNOWN_NAMESPACES)


def test_a_wrong_rule_is_found_shrunk_and_replayed(tmp_path: Path) -> None:
    fuzzed = run_pytest(
        tmp_path / "fuzz", "-q", "--backend", "process", "--model-mutant", MUTANT, "suites/test_fuzz.py"
    )
    output = fuzzed.stdout + fuzzed.stderr
    assert fuzzed.returncode == 1, output[-3000:]
    inputs = minimal_inputs(output)
    assert inputs, output[-3000:]
    culprit = next((i for i in inputs if any(differs_only_in_case(n) for n in namespaces_in(i))), None)
    assert culprit is not None, f"no minimal example names a namespace differing only in case: {inputs}"
    assert len(namespaces_in(culprit)) == 1, f"not shrunk to one permission: {culprit}"

    # The printed command replays exactly that example on a fresh server: it fails under the mutant and
    # passes with the model as it is.
    command = re.search(r"replay on a fresh server: (.*)$", output, re.MULTILINE)
    assert command is not None
    args = shlex.split(command.group(1))
    case = Path(args[args.index("--fuzz-case") + 1])
    assert case.exists() and json.loads(case.read_text())["input"] in inputs
    replay_args = args[args.index("suites/test_fuzz_regressions.py") :]
    mutated = run_pytest(tmp_path / "replay-mutant", *replay_args, "--model-mutant", MUTANT)
    assert mutated.returncode == 1, (mutated.stdout + mutated.stderr)[-2000:]
    correct = run_pytest(tmp_path / "replay", *replay_args)
    assert correct.returncode == 0, (correct.stdout + correct.stderr)[-2000:]


def test_a_stored_rotation_run_replays(tmp_path: Path) -> None:
    steps = [["begin"], ["new_key", "k1", "EC"], ["publish", "k1"], ["refresh"], ["call", "k1"],
             ["rotate", "k1", "k0"], ["refresh"], ["call", "k0"], ["serve_fault", "empty-set"], ["refresh"],
             ["call", "k1"], ["clear_fault"], ["outage"], ["call", "stranger"], ["recover"], ["refresh"],
             ["rekey", "k1"], ["call", "k1"]]  # fmt: skip
    case = tmp_path / "rotation.json"
    case.write_text(json.dumps({"class": "rotation", "input": {"steps": steps}}))
    replayed = run_pytest(tmp_path / "reports", "-q", "--backend", "process", "suites/test_fuzz_regressions.py",
                          "--fuzz-case", str(case))  # fmt: skip
    assert replayed.returncode == 0, (replayed.stdout + replayed.stderr)[-3000:]
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text())
    assert [t["verdict"] for t in report["tests"]] == ["PASS"]
