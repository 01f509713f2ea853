"""`temporal-authz conformance` and `gate`: options of their own parsed, every other passed on to pytest in
order; the pytest command line; the gate's baselines (file, packaged version, a version run first) and its
exit statuses, with the suite run replaced by a synthetic report (no server)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from harness import cli
from harness.conformance import pytest_run
from harness.conformance.packaged import PACKAGES_ROOT, PYTEST_CONFIG, SUITES_DIR, suite_names
from harness.report.gate import packaged_baseline_versions
from tests.report_data import rich_report


def test_pytest_options_pass_through_in_order() -> None:
    args = cli.parse(
        ["conformance", "--temporal-version", "v1.31.5", "--target", "host:7233", "-k", "MATRIX or SMOKE"]
    )
    assert args.command == "conformance"
    assert args.pytest_args == [
        "--temporal-version",
        "v1.31.5",
        "--target",
        "host:7233",
        "-k",
        "MATRIX or SMOKE",
    ]


def test_own_options_are_taken_out_and_the_rest_kept() -> None:
    args = cli.parse(
        [
            "gate",
            "--backend=process",
            "--baseline",
            "v1.31.2",
            "-x",
            "--reports-dir",
            "out",
            "--suite",
            "smoke",
        ]
    )
    assert (args.baseline, args.reports_dir, args.suite) == ("v1.31.2", Path("out"), ["smoke"])
    assert args.pytest_args == ["--backend=process", "-x"]


def test_a_double_dash_as_nox_takes_it_changes_nothing() -> None:
    assert cli.parse(["conformance", "--", "-k", "smoke"]).pytest_args == ["-k", "smoke"]


def test_no_abbreviation_swallows_a_pytest_option() -> None:
    # --rep would abbreviate --report (or --reports-dir); it is pytest's to reject, not ours to take.
    args = cli.parse(["gate", "--rep", "x"])
    assert args.report is None and args.pytest_args == ["--rep", "x"]


def test_commands_without_pass_through_still_refuse_unknown_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.parse(["matrix-merge", "runs", "--bogus"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


@pytest.mark.parametrize("command", [*cli.COMMANDS, None])
def test_every_command_has_help(command: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.parse([command, "--help"] if command else ["--help"])
    assert exc.value.code == 0
    assert "usage: temporal-authz" in capsys.readouterr().out


def test_the_pytest_command_runs_the_packaged_suites_with_their_own_settings(tmp_path: Path) -> None:
    command = pytest_run.pytest_command(["-k", "smoke"], reports_dir=tmp_path / "r", suites=["smoke"])
    assert command[1:4] == ["-m", "pytest", str(SUITES_DIR / "test_smoke.py")]
    joined = " ".join(command)
    assert f"-c {PYTEST_CONFIG}" in joined and f"--rootdir {PACKAGES_ROOT}" in joined
    assert f"--junitxml={tmp_path / 'r' / 'junit.xml'}" in command
    assert f"--reports-dir {tmp_path / 'r'}" in joined
    cache = next(a for a in command if a.startswith("cache_dir="))
    assert not cache.startswith(f"cache_dir={PACKAGES_ROOT}")  # never into site-packages
    assert command[-2:] == ["-k", "smoke"]  # the user's options last: theirs win
    assert pytest_run.pytest_command([], reports_dir=tmp_path)[3] == str(SUITES_DIR)


def test_plugins_are_named_by_module_where_autoloading_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    assert pytest_run.plugin_args() == ["-p", "harness.pytest_plugin"]
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert pytest_run.plugin_args()[-2:] == ["-p", "harness.pytest_plugin"]
    assert "pytest_asyncio.plugin" in pytest_run.plugin_args()


def test_suites_are_named_by_their_files() -> None:
    assert "smoke" in suite_names() and "matrix" in suite_names()


# -- the gate ------------------------------------------------------------------------------------


def _write(path: Path, report: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report))
    return path


def _regressed(report: dict[str, Any]) -> dict[str, Any]:
    """The same run with one allowed cell denied."""
    cell = next(c for c in report["grid"] if c["observed"] == "ALLOWED")
    cell["observed"] = "DENIED"
    return report


def test_gate_diffs_two_reports_without_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path / "old" / "conformance.json", rich_report())
    new = _write(tmp_path / "new" / "conformance.json", rich_report())
    assert cli.main(["gate", "--report", str(new), "--baseline", str(old)]) == 0
    assert (tmp_path / "new" / "gate.html").exists()  # beside the report by default
    _write(new, _regressed(rich_report()))
    page = tmp_path / "page.html"
    assert cli.main(["gate", "--report", str(new), "--baseline", str(old), "--html", str(page)]) == 1
    assert "1 authorization decision(s) changed" in capsys.readouterr().out
    assert "Regressions" in page.read_text()


def test_gate_refuses_what_it_cannot_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _write(tmp_path / "conformance.json", rich_report())
    assert cli.main(["gate", "--report", str(new), "-k", "smoke"]) == 2  # nothing runs: -k would be lost
    assert cli.main(["gate", "--report", str(new), "--baseline", "v1.0.0"]) == 2  # not packaged, not run
    assert "needs a server of its own" in capsys.readouterr().err
    assert cli.main(["gate", "--report", str(tmp_path / "missing.json"), "--baseline", str(new)]) == 2


def test_gate_uses_the_packaged_baseline_of_a_version(tmp_path: Path) -> None:
    version = packaged_baseline_versions()[-1]
    report = rich_report()
    report["server"]["version"] = version
    new = _write(tmp_path / "conformance.json", report)
    # The synthetic run differs from the real baseline everywhere: what matters is that it was found.
    assert cli.main(["gate", "--report", str(new), "--baseline", version.removeprefix("v")]) == 1


class FakeSuite:
    """Stands in for the pytest child: records each command and writes a report into its reports dir."""

    def __init__(self, statuses: Sequence[int], reports: Sequence[dict[str, Any]]) -> None:
        self.statuses, self.reports = list(statuses), list(reports)
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str]) -> int:
        self.commands.append(list(command))
        reports_dir = Path(command[command.index("--reports-dir") + 1])
        _write(reports_dir / "conformance.json", self.reports.pop(0))
        return self.statuses.pop(0)


def test_gate_runs_the_baseline_version_when_none_is_packaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = rich_report()
    old["server"]["version"] = "v1.0.1"
    suite = FakeSuite([1, 0], [_regressed(rich_report()), old])  # a failing test still gates on decisions
    monkeypatch.setattr(pytest_run, "run_pytest", suite)
    reports = tmp_path / "reports"
    status = cli.main(
        ["gate", "--temporal-version", "v1.32.2", "--baseline", "v1.0.1", "--reports-dir", str(reports)]
    )
    assert status == 1
    current, baseline = suite.commands
    assert current[-2:] == ["--temporal-version", "v1.32.2"]
    assert baseline[-4:] == ["--temporal-version", "v1.32.2", "--temporal-version", "v1.0.1"]  # last wins
    assert str(reports / "baseline-v1.0.1") in baseline
    assert (reports / "gate.html").exists()


def test_gate_stops_when_the_suite_did_not_run_to_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = FakeSuite([3], [rich_report()])  # 3: the server does not enforce authorization
    monkeypatch.setattr(pytest_run, "run_pytest", suite)
    assert cli.main(["gate", "--reports-dir", str(tmp_path)]) == 3
    assert not (tmp_path / "gate.html").exists()


def test_gate_will_not_run_a_baseline_version_against_a_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = FakeSuite([0], [rich_report()])
    monkeypatch.setattr(pytest_run, "run_pytest", suite)
    status = cli.main(
        ["gate", "--target=staging:7233", "--baseline", "v1.0.1", "--reports-dir", str(tmp_path)]
    )
    assert status == 2 and len(suite.commands) == 1
