"""Features (harness.model.features) replace the version tuples suites carried: each answers, on every release
fixtures/releases.yaml lists, what the threshold it replaced answered; and suites/ name no version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.model.features import Feature
from harness.model.rules import rules_for
from harness.oracle.build import HTTP_SINCE
from harness.server.config import HTTP_API_SINCE
from harness.server.releases import load_releases
from harness.types import ServerVersion

SUITES = Path(__file__).resolve().parent.parent / "suites"

# The thresholds suites/ and harness/fuzz/classes.py carried before Features, as they were written there:
# (first release, the text the skip reason showed; None where the suite compared a version in code).
OLD_THRESHOLDS: dict[Feature, tuple[tuple[int, int, int], str | None]] = {
    Feature.HTTP_API: ((1, 22, 0), "the HTTP API"),  # test_mtls.py
    Feature.AUTH_HEADER_NAME: ((1, 23, 0), "authHeaderName"),  # test_http.py, test_config_variants.py
    Feature.AUTH_EXTRA_HEADER_NAME: ((1, 23, 0), "authExtraHeaderName"),  # test_config_edges.py
    Feature.DELETE_NAMESPACE_BY_ID: ((1, 23, 0), None),  # test_matrix.py: target.version < (1, 23, 0)
    Feature.NEXUS_ENDPOINTS: (
        (1, 25, 0),
        "Nexus endpoints (OperatorService.CreateNexusEndpoint)",
    ),  # test_nexus
    Feature.HTTP_ALLOWED_HOSTS: ((1, 26, 0), "frontend.httpAllowedHosts"),  # test_http.py
    Feature.NEXUS_COMPLETIONS: ((1, 28, 0), "Nexus dispatch and completion API metadata"),  # test_nexus.py
    Feature.PERMISSIONS_REGEX: ((1, 29, 0), "permissionsRegex"),  # test_config_variants, test_fuzz_config
    Feature.AUDIENCE: ((1, 29, 0), "audience"),  # test_http, test_config_variants, test_nexus, fuzz
    Feature.INTERNAL_HTTP: ((1, 29, 0), "internal-frontend's HTTP API (before it, nothing is left open)"),
    Feature.ALLOWED_HOSTS_CONVERTED: ((1, 29, 0), "frontend.httpAllowedHosts as a converted setting"),
    Feature.ORACLE_HEADER_LOOKUP: ((1, 29, 0), "the interceptor's header lookup as the oracle reads it"),
    Feature.SCHEDULER_V2: ((1, 30, 0), None),  # test_security_callbacks.py: server.version < (1, 30, 0)
    Feature.PRINCIPAL_ATTRIBUTION: ((1, 31, 0), "principal attribution"),  # test_principals.py
    Feature.FILE_KEY_SOURCES: ((1, 32, 0), "file:// key sources"),  # test_hostile_keys.py
}


def listed_releases() -> list[ServerVersion]:
    """Every release fixtures/releases.yaml names, whatever it says of it (served, pinned, refused, ...)."""
    found = {
        v
        for line in load_releases().lines.values()
        for v in (*line.served, *line.pinned, *line.refused, *line.unbuildable, *line.checked)
    }
    return sorted(found, key=lambda v: v.parts)


RELEASES = listed_releases()


def test_every_feature_replaces_one_old_threshold() -> None:
    assert set(OLD_THRESHOLDS) == set(Feature)


@pytest.mark.parametrize("feature", list(Feature), ids=lambda f: f.name)
def test_availability_equals_the_old_threshold_on_every_listed_release(feature: Feature) -> None:
    first, _ = OLD_THRESHOLDS[feature]
    assert len(RELEASES) > 40 and {v.line for v in RELEASES} >= {f"1.{m}" for m in range(20, 33)}
    differ = [str(v) for v in RELEASES if feature.available(v) != (v >= first)]
    assert not differ, f"{feature.name} disagrees with the old threshold {first} on {', '.join(differ)}"
    assert all(feature.of(rules_for(v)) == feature.available(v) for v in RELEASES)


@pytest.mark.parametrize("feature", list(Feature), ids=lambda f: f.name)
def test_the_skip_reason_reads_as_before(feature: Feature) -> None:
    first, text = OLD_THRESHOLDS[feature]
    assert feature.first is not None and feature.first.parts == first
    if text is not None:
        assert feature.description == text
    older = ServerVersion(1, 20, 0)
    assert feature.missing_on(older) == (
        f"{feature.description} was added in v{'.'.join(map(str, first))}; server v1.20.0 has no such setting"
    )


def test_the_harness_thresholds_outside_the_model_agree() -> None:
    """harness/server/config.py and harness/oracle/build.py keep their own constants (the model cannot be
    imported there without a reason): they must say what the Features say."""
    assert Feature.HTTP_API.first is not None and Feature.HTTP_API.first.parts == HTTP_API_SINCE
    for feature in (Feature.ALLOWED_HOSTS_CONVERTED, Feature.ORACLE_HEADER_LOOKUP):
        assert feature.first is not None and feature.first.parts == HTTP_SINCE


VERSION_LITERALS = (
    re.compile(r"(?<![\w.\])])\(\s*1\s*,\s*\d+\s*(,\s*\d+\s*)?\)"),  # (1, 29, 0) and (1, 29), not f(1, 6)
    re.compile(r"\bv1\.\d+"),  # "v1.29.0"
)


def test_no_version_literal_in_suites() -> None:
    """Suites name a Feature, never a release: every threshold is a ServerRules field."""
    found = [
        f"suites/{path.relative_to(SUITES)}:{number}: {line.strip()}"
        for path in sorted(SUITES.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if any(pattern.search(line) for pattern in VERSION_LITERALS)
    ]
    assert not found, "version literals in suites/ (use a Feature of harness.model.features):\n" + "\n".join(
        found
    )
