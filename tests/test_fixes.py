"""Security fixes back-ported to patch releases: the model keys each behaviour by release line and patch
(harness/model/fixes.py), never by one minor-version threshold. Listed here per line, the release where
each switch flips, as the fix commits on each release branch and the released module source show; and the
advisories' `fixed_in` (fixtures/advisories.yaml) must say the same."""

from __future__ import annotations

import pytest

from harness.model import rules_for
from harness.model.fixes import FIXES
from harness.security.catalogue import load_advisories
from harness.types import ServerVersion

# fix -> line -> the first release of the line with it ("never": no release of the line has it; "all": the
# line's first release has it). Lines 1.20-1.32.
NEVER, ALL = "never", "all"
FLIPS: dict[str, dict[str, str]] = {
    "cross_namespace_reauthorized": {
        **{f"1.{m}": NEVER for m in range(20, 27)}, "1.27": "v1.27.4", "1.28": "v1.28.2", "1.29": "v1.29.2",
        "1.30": ALL, "1.31": ALL, "1.32": ALL,
    },
    "multi_operation_namespace_checked": {
        **{f"1.{m}": NEVER for m in range(20, 27)}, "1.27": "v1.27.4", "1.28": "v1.28.2", "1.29": "v1.29.2",
        "1.30": ALL, "1.31": ALL, "1.32": ALL,
    },
    "streams_authorized": {
        **{f"1.{m}": NEVER for m in range(20, 28)}, "1.28": "v1.28.4", "1.29": "v1.29.6", "1.30": "v1.30.4",
        "1.31": "v1.31.2", "1.32": ALL,
    },
    "batch_namespace_checked": {
        **{f"1.{m}": NEVER for m in range(20, 29)}, "1.29": "v1.29.5", "1.30": "v1.30.3", "1.31": ALL, "1.32": ALL,
    },
    "callback_source_ignored_by_default": {**{f"1.{m}": NEVER for m in range(20, 32)}, "1.32": ALL},
    "callback_source_knob": {
        **{f"1.{m}": NEVER for m in range(20, 30)}, "1.30": "v1.30.7", "1.31": "v1.31.3", "1.32": ALL,
    },
    "internal_callback_bound": {
        **{f"1.{m}": NEVER for m in range(20, 30)}, "1.30": "v1.30.8", "1.31": "v1.31.4", "1.32": "v1.32.1",
    },
    "compute_config_needs_write": {**{f"1.{m}": NEVER for m in range(20, 31)}, "1.31": "v1.31.5", "1.32": "v1.32.2"},
    "local_namespace_replication_skipped": {
        **{f"1.{m}": NEVER for m in range(20, 30)}, "1.30": "v1.30.8", "1.31": "v1.31.4", "1.32": "v1.32.1",
    },
}  # fmt: skip


def flip_of(name: str, line: str) -> str:
    """Where the fix flips in a line, found by asking the model about every patch 0-20 of it."""
    fix = FIXES[name]
    major, minor = (int(p) for p in line.split("."))
    has = [fix.has(ServerVersion(major, minor, patch)) for patch in range(21)]
    if not any(has):
        return NEVER
    if all(has):
        return ALL
    first = has.index(True)
    assert all(has[first:]), f"{name} in {line}: a fix never goes away within a line"
    return f"v{major}.{minor}.{first}"


@pytest.mark.parametrize("name", sorted(FLIPS))
def test_each_fix_flips_where_its_line_got_it(name: str) -> None:
    assert {line: flip_of(name, line) for line in FLIPS[name]} == FLIPS[name]


def test_every_fix_is_listed() -> None:
    assert set(FIXES) == set(FLIPS)


@pytest.mark.parametrize("advisory", sorted(a.id for a in load_advisories().values() if a.model_fix))
def test_the_advisory_and_the_model_name_the_same_releases(advisory: str) -> None:
    adv = load_advisories()[advisory]
    flips = FLIPS[adv.model_fix]
    stated = {line: (ALL if release.endswith(".0") else release) for line, release in adv.fixed_in.items()}
    assert stated == {line: flip for line, flip in flips.items() if flip != NEVER}, (
        f"{advisory}: fixtures/advisories.yaml fixed_in and harness/model/fixes.py {adv.model_fix} disagree"
    )


def test_no_switch_in_the_rules_is_a_single_minor_threshold_where_a_fix_was_back_ported() -> None:
    """The rules read the per-line table: v1.27.4 re-authorizes commands though v1.28.0 does not, v1.28.4
    authorizes streams though v1.29.0 does not, and v1.31.0/.1 do not though v1.30.4 does."""
    assert (
        rules_for("v1.27.4").cross_namespace_reauthorized
        and not rules_for("v1.28.0").cross_namespace_reauthorized
    )
    assert rules_for("v1.28.4").streams_authorized and not rules_for("v1.29.0").streams_authorized
    assert rules_for("v1.30.4").streams_authorized and not rules_for("v1.31.1").streams_authorized
    assert rules_for("v1.29.5").batch_namespace_checked and not rules_for("v1.30.2").batch_namespace_checked
    assert rules_for("v1.28.1").batch_namespace_checked  # the proto batch input arrived with 1.29
    assert (
        rules_for("v1.27.4").multi_operation_namespace_checked
        and not rules_for("v1.28.1").multi_operation_namespace_checked
    )
    assert not rules_for("v1.30.7").internal_callback_bound and rules_for("v1.30.8").internal_callback_bound
    assert rules_for("v1.29.7").internal_callback_bound  # no internal callbacks before 1.30
