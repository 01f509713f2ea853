"""Where the suites, their pytest settings and the fixtures are: beside harness/, in a checkout and in
site-packages alike (the wheel installs harness, suites and fixtures as top-level packages)."""

from __future__ import annotations

from pathlib import Path

PACKAGES_ROOT = Path(__file__).resolve().parent.parent.parent  # holds harness/, suites/, fixtures/
SUITES_DIR = PACKAGES_ROOT / "suites"
# -c this file: the packaged suites' own settings, never a pyproject.toml found above site-packages.
PYTEST_CONFIG = SUITES_DIR / "conformance.ini"
PLUGIN = "harness.pytest_plugin"


def suite_names() -> list[str]:
    """'smoke' for suites/test_smoke.py, and so on."""
    return sorted(p.stem.removeprefix("test_") for p in SUITES_DIR.glob("test_*.py"))


def suite_path(name: str) -> Path:
    return SUITES_DIR / f"test_{name}.py"
