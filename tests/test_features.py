"""Features (harness.model.features) replace the version tuples suites carried, and ServerRules fields the ones
harness/ carried: each answers, on every release fixtures/releases.yaml lists, what the threshold it replaced
answered; and neither suites/ nor harness/ (outside the rules) names a version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.model.features import Feature
from harness.model.rules import rules_for
from harness.server.releases import load_releases
from harness.types import ServerVersion

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "suites"
HARNESS = ROOT / "harness"

# The thresholds suites/ and harness/fuzz/classes.py carried before Features, as they were written there:
# (first release, the text the skip reason showed; None where the suite compared a version in code).
OLD_THRESHOLDS: dict[Feature, tuple[tuple[int, int, int], str | None]] = {
    Feature.HTTP_API: ((1, 22, 0), "the HTTP API"),  # test_mtls.py
    Feature.AUTH_HEADER_NAME: ((1, 23, 0), "authHeaderName"),  # test_http.py, test_config_variants.py
    Feature.AUTH_EXTRA_HEADER_NAME: ((1, 23, 0), "authExtraHeaderName"),  # test_config_edges.py
    Feature.DELETE_NAMESPACE_BY_ID: ((1, 23, 0), None),  # test_matrix.py: target.version < (1, 23, 0)
    Feature.NEXUS_APIS: ((1, 23, 0), None),  # harness/profiles/groups.py: the nexus group's since=(1, 23, 0)
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


# The thresholds harness/ carried outside the rules before they became ServerRules fields, as they were
# written there: (the field, its first release, where the tuple was).
OLD_HARNESS_THRESHOLDS: dict[str, tuple[tuple[int, int, int], str]] = {
    "http_api": ((1, 22, 0), "harness/server/config.py HTTP_API_SINCE"),
    "cluster_http_address": ((1, 24, 0), "harness/server/config.py CLUSTER_HTTP_ADDRESS_SINCE"),
    "worker_grpc": ((1, 31, 0), "harness/server/config.py WORKER_GRPC_SINCE"),
    "config_file_flag": ((1, 30, 0), "harness/server/config.py start_arguments"),
    "image_from_server_repository": ((1, 30, 0), "harness/server/images/build.py NEW_LAYOUT_SINCE"),
    "allowed_hosts_converted": ((1, 29, 0), "harness/oracle/build.py HTTP_SINCE"),
    "oracle_header_lookup": ((1, 29, 0), "harness/oracle/build.py HTTP_SINCE"),
    "metadata_authorizer": ((1, 22, 0), "harness/api_tables/__init__.py METADATA_SINCE"),
    "nexus_service_in_api_metadata": ((1, 24, 0), "harness/api_tables/__init__.py NEXUS_SINCE"),
    "api_on_protobuf": ((1, 23, 0), "harness/api_tables/generator.py PROTOREFLECT_SINCE"),
    "nexus_apis": ((1, 23, 0), "harness/profiles/groups.py, the nexus group's since"),
    "noop_mapper_without_auth_info": ((1, 20, 3), "harness/model/decide.py expect"),
    "versioning_reads_read_only": ((1, 21, 5), "harness/model/authorizer.py _authorize_pre_1_22"),
    "header_lookup_folds": ((1, 25, 0), "harness/model/decide.py auth_header_value"),
    "internal_claim_mapper": ((1, 31, 0), "harness/model/decide.py internal_frontend_claims"),
    "nexus_headers_blacklisted_by_default": ((1, 31, 0), "harness/model/nexus.py default_blacklist"),
    "nexus_callback_route": ((1, 30, 0), "harness/cases/ask.py NexusQuestion"),
    "nexus_completion_by_token_namespace": ((1, 30, 0), "harness/cases/ask.py NexusQuestion"),
    "remote_cluster_auth": ((1, 32, 0), "harness/model/rules.py AuthConfig.refusal_to_start"),
}


@pytest.mark.parametrize("field", sorted(OLD_HARNESS_THRESHOLDS))
def test_each_harness_threshold_answers_as_its_old_tuple(field: str) -> None:
    first, where = OLD_HARNESS_THRESHOLDS[field]
    differ = [str(v) for v in RELEASES if getattr(rules_for(v), field) != (v >= first)]
    assert not differ, f"ServerRules.{field} disagrees with {where} {first} on {', '.join(differ)}"


VERSION_LITERALS = (
    re.compile(r"(?<![\w.\])])\(\s*1\s*,\s*\d+\s*(,\s*\d+\s*)?\)"),  # (1, 29, 0) and (1, 29), not f(1, 6)
    re.compile(r"\bv1\.\d+"),  # "v1.29.0"
)
# In harness/, names and docstrings cite releases ("seen on v1.31.2"); a threshold is a tuple, a
# ServerVersion built from numbers, or a release parsed from a literal.
THRESHOLD_LITERALS = (
    VERSION_LITERALS[0],
    re.compile(r"\bServerVersion\(\s*1\s*,"),  # ServerVersion(1, 29, 0)
    re.compile(r"\.parse\(\s*[\"']v?1\.\d+"),  # ServerVersion.parse("v1.29.0")
)
# Where harness/ may write a release: the rules, the Features, and the per-line fix table the rules read.
RULES_MODULES = frozenset({"model/rules.py", "model/features.py", "model/fixes.py"})


def literals_in(
    root: Path, patterns: tuple[re.Pattern[str], ...], allowed: frozenset[str] = frozenset()
) -> list[str]:
    return [
        f"{root.name}/{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        if str(path.relative_to(root)) not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if any(pattern.search(line) for pattern in patterns)
    ]


def test_no_version_literal_in_suites() -> None:
    """Suites name a Feature, never a release: every threshold is a ServerRules field."""
    found = literals_in(SUITES, VERSION_LITERALS)
    assert not found, "version literals in suites/ (use a Feature of harness.model.features):\n" + "\n".join(
        found
    )


def test_no_version_threshold_in_harness_outside_the_rules() -> None:
    """harness/ asks the rules (a ServerRules field, a Feature), never compares a version with a literal."""
    found = literals_in(HARNESS, THRESHOLD_LITERALS, RULES_MODULES)
    assert not found, "version thresholds in harness/ (make each a ServerRules field):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "HTTP_SINCE = (1, 29, 0)  # the old harness/oracle/build.py",
        "    if version >= (1, 30, 0):",
        "NEXUS = ServerVersion(1, 24, 0)",
        'if release >= ServerVersion.parse("v1.22.0"):',
    ],
)
def test_the_harness_check_sees_a_threshold(line: str, tmp_path: Path) -> None:
    (tmp_path / "old.py").write_text(f"{line}\nx = range(1, 6)\n")
    assert literals_in(tmp_path, THRESHOLD_LITERALS) == [f"{tmp_path.name}/old.py:1: {line.strip()}"]
