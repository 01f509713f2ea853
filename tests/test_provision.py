"""Provisioning: explicit binaries, the cache, and one clear error for each bad input."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from harness.server import provision as prov
from harness.types import ServerVersion

V = ServerVersion.parse


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of the test's own, and no TEMPORAL_BINARY (the environment is read once, in settings)."""
    monkeypatch.setattr(prov, "ENV", dataclasses.replace(prov.ENV, cache_root=tmp_path, temporal_binary=None))
    return tmp_path


def test_explicit_binary_wins(tmp_path: Path, cache: Path) -> None:
    binary = tmp_path / "server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    got = prov.provision(V("v1.32.2"), binary)
    assert got.path == binary and got.source == "explicit"


def test_explicit_binary_must_be_executable(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(prov.ProvisionError, match="not an executable"):
        prov.provision(V("v1.32.2"), tmp_path / "missing")


def test_cache_is_per_version_outside_the_repo(cache: Path) -> None:
    cached = prov.cached_binary(V("v1.31.5"))
    cached.parent.mkdir(parents=True)
    cached.write_text("#!/bin/sh\n")
    cached.chmod(0o755)
    assert prov.provision(prov.parse_requested("1.31.5")).source == "cache"
    assert not str(cached).startswith(str(Path(__file__).resolve().parent.parent))


def test_no_go_and_no_binary_names_the_fix(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(prov.ProvisionError) as err:
        prov.provision(V("v1.32.2"))
    message = str(err.value)
    assert "install Go" in message and "--temporal-binary" in message and "--backend external" in message


def test_malformed_version() -> None:
    with pytest.raises(prov.ProvisionError, match=r"v1\.32\.2"):
        prov.parse_requested("latest")


@pytest.mark.skipif(shutil.which("go") is None, reason="needs Go and the module proxy")
def test_unknown_version_lists_the_available_ones(cache: Path) -> None:
    with pytest.raises(prov.ProvisionError) as err:
        prov.provision(V("v1.99.0"))
    assert "unknown server version v1.99.0" in str(err.value) and "v1.32.2" in str(err.value)
    assert not any(cache.rglob("server"))
