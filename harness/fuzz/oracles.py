"""The fast oracle of a run: the release's oracle program for the server the fuzzer drives, found in the
cache or (long runs) built, once per release and process, with the model's facts of that server (its
version, API table and authorization config). Unavailable (no Go, a release that cannot be built, or, in
the CI profile, none built yet: the suites never spend a build on it): the reason, which the class's
figures carry; the live phase runs as before."""

from __future__ import annotations

import atexit
from collections.abc import Callable

from harness.fuzz.twin import Twin
from harness.oracle.build import OracleUnavailable, is_cached, oracle_binary
from harness.oracle.questions import Oracle
from harness.server.target import Target
from harness.types import ServerVersion

_ORACLES: dict[ServerVersion, Oracle | str] = {}


def oracle_for(version: ServerVersion, progress: Callable[[str], None], build: bool = True) -> Oracle | str:
    """The release's oracle program (one process per release and run), or why there is none. `build`:
    build it when the cache has none (else only a cached one is used)."""
    if version not in _ORACLES:
        if not build and not is_cached(version):
            return (
                f"no fast oracle for {version}: none built yet (the CI profile builds none; a long run or "
                f"`python -m harness.oracle.build {version}` does)"
            )
        try:
            oracle = Oracle(version, oracle_binary(version, progress))
            atexit.register(oracle.close)
            _ORACLES[version] = oracle
        except OracleUnavailable as exc:
            _ORACLES[version] = f"no fast oracle for {version}: {exc}"
    return _ORACLES[version]


def twin_for(target: Target, progress: Callable[[str], None], build: bool = True) -> Twin | str:
    """The model and the release's functions, both with `target`'s facts; or why there is none."""
    oracle = oracle_for(target.version, progress, build)
    if isinstance(oracle, str):
        return oracle
    return Twin(oracle, target.version, target.table, target.auth_config)
