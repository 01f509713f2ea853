"""The installable package: the packaged suites' pytest settings match the repository's; the wheel holds
every file of harness/, suites/ and fixtures/; installed into a fresh virtualenv outside the checkout, it
runs the packaged smoke suite against the pinned server (one real server) and writes ./reports there."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.conformance.packaged import PYTEST_CONFIG
from harness.settings import DEFAULT_VERSION

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


# -- the wheel, built from this working tree and installed into a fresh virtualenv -----------------------

PACKAGES = ("harness", "suites", "fixtures")


def _source_files() -> list[str]:
    """The working tree as git sees it (tracked and new files, .gitignore applied): no build/, no caches."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return [f for f in out.stdout.decode().split("\0") if f and (ROOT / f).is_file()]


@dataclass(frozen=True)
class Built:
    wheel: Path
    source: Path  # the copy it was built from (the checkout may change meanwhile: others work in it)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Built from a copy of the tree: setuptools' build/ in the checkout would keep files deleted since."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files are the project's")
    source = tmp_path_factory.mktemp("source")
    for name in _source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(source)], check=True, timeout=300)
    (wheel,) = dist.glob("*.whl")
    return Built(wheel, source)


def test_the_wheel_holds_every_file_of_the_packages_and_nothing_else(built: Built) -> None:
    wheel = built.wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        p.relative_to(built.source).as_posix()
        for package in PACKAGES
        for p in (built.source / package).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert wanted - names == set(), "files missing from the wheel: add them to package-data in pyproject.toml"
    assert not {n for n in names if n.startswith("tests/") or n == "conftest.py"}
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    points = configparser.ConfigParser()
    points.read_string(zipfile.ZipFile(wheel).read(entry_points).decode())
    assert dict(points["pytest11"]) == {"harness.pytest_plugin": "harness.pytest_plugin"}
    assert dict(points["console_scripts"]) == {"temporal-authz": "harness.cli:main"}


WHERE_THINGS_ARE = """
import json, harness, suites, fixtures
from harness import api_tables, requirements
from harness.report import gate, html
print(json.dumps({
    "packages": [m.__file__ for m in (harness, suites, fixtures)],
    "files": [str(p) for p in (requirements.CATALOGUE, gate.BASELINES / "v1.32.2.json",
              html.TEMPLATES / "report.html.j2", api_tables.API_DIR / "v1.32.2.json")],
}))
"""


def _clean_environment(venv: Path) -> dict[str, str]:
    """This process's environment without what would point the run back at the checkout or change it."""
    dropped = {
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "PYTEST_ADDOPTS",
        "TEMPORAL_VERSION",
        "AUTHZ_BACKEND",
        "AUTHZ_TARGET",
    }
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["AUTHZ_RUN_TAG"] = uuid.uuid4().hex[:10]
    return env


def test_the_installed_wheel_runs_the_smoke_suite_outside_the_checkout(built: Built, tmp_path: Path) -> None:
    """A fresh virtualenv (dependencies from the package index), a directory of a team's own: the packaged
    smoke suite against the pinned server (cached binary, process backend) writes ./reports there."""
    venv, team = tmp_path / "venv", tmp_path / "team"
    team.mkdir()
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", str(built.wheel)], check=True, timeout=600)
    installed_s = time.monotonic() - started
    env = _clean_environment(venv)

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=team, env=env, capture_output=True, text=True, timeout=timeout)

    where = json.loads(run(str(venv / "bin" / "python"), "-c", WHERE_THINGS_ARE).stdout)
    site_packages = str(venv / "lib")
    assert all(p.startswith(site_packages) for p in where["packages"]), where
    assert all(p.startswith(site_packages) and Path(p).is_file() for p in where["files"]), where

    smoke = run("temporal-authz", "conformance", "--backend", "process", "-k", "test_smoke", timeout=600)
    output = smoke.stdout + smoke.stderr
    assert smoke.returncode == 0, output[-4000:]
    report = json.loads((team / "reports" / "conformance.json").read_text())
    assert report["server"]["version"] == DEFAULT_VERSION
    assert report["summary"]["total"] > 0 and report["summary"]["PASS"] == report["summary"]["total"]
    assert {t["nodeid"].partition("::")[0] for t in report["tests"]} == {"suites/test_smoke.py"}
    assert (team / "reports" / "report.html").exists() and (team / "reports" / "junit.xml").exists()
    assert not list((venv / "lib").rglob(".pytest_cache")), "pytest wrote its cache into site-packages"
    assert not list((venv / "lib").rglob("reports")), "a report went into site-packages"

    # The smoke suite alone against the whole packaged baseline: every other decision shows as not run.
    gate = run(
        "temporal-authz", "gate", "--report", "reports/conformance.json", "--baseline", DEFAULT_VERSION
    )
    assert gate.returncode == 1 and (team / "reports" / "gate.html").exists(), gate.stderr
    groups = run("temporal-authz", "profile", "--list-groups")
    assert groups.returncode == 0 and "poll" in groups.stdout, groups.stderr
    print(
        f"fresh venv and wheel installed in {installed_s:.1f} s; the whole test {time.monotonic() - started:.1f} s"
    )
