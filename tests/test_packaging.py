"""The installable package: the packaged suites' pytest settings match the repository's."""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

from harness.conformance.packaged import PYTEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent


def _lines(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [line.strip() for line in str(value).strip().splitlines() if line.strip()]


def test_packaged_pytest_settings_are_the_repositorys() -> None:
    repo = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    packaged = configparser.ConfigParser()
    packaged.read(PYTEST_CONFIG)
    section = dict(packaged["pytest"])
    assert {k: _lines(v) for k, v in section.items()} == {
        k: _lines(v)
        for k, v in repo.items()
        if k != "testpaths"  # the suites are named on the command line
    }
