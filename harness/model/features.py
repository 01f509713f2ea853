"""What a release must have for a suite's case to apply: a closed set of Features, each answered for a version
by a ServerRules field (harness.model.rules), so suites name a Feature and never a version.

Each Feature also carries its first release where it is a plain threshold (every later release has it and
no earlier one does): the skip reason names it ("audience was added in v1.29.0"). tests/test_features.py
holds the two equal on every release of fixtures/releases.yaml.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from harness.model.rules import ServerRules, rules_for
from harness.types import ServerVersion


@dataclass(frozen=True)
class _Need:
    rule: str  # the ServerRules field that answers it
    description: str  # what the skip reason calls it
    first: ServerVersion | None  # the first release that has it, where that is a plain threshold


def _v(major: int, minor: int, patch: int) -> ServerVersion:
    return ServerVersion(major, minor, patch)


class Feature(enum.Enum):
    """Something a release must have (a setting, an API, a behaviour) for a case to apply."""

    HTTP_API = "http_api"
    AUTH_HEADER_NAME = "auth_header_name"
    AUTH_EXTRA_HEADER_NAME = "auth_extra_header_name"
    DELETE_NAMESPACE_BY_ID = "delete_namespace_by_id"
    NEXUS_APIS = "nexus_apis"
    NEXUS_ENDPOINTS = "nexus_endpoints"
    HTTP_ALLOWED_HOSTS = "http_allowed_hosts"
    NEXUS_COMPLETIONS = "nexus_completions"
    PERMISSIONS_REGEX = "permissions_regex"
    AUDIENCE = "audience"
    INTERNAL_HTTP = "internal_http"
    ALLOWED_HOSTS_CONVERTED = "allowed_hosts_converted"
    ORACLE_HEADER_LOOKUP = "oracle_header_lookup"
    SCHEDULER_V2 = "scheduler_v2"
    PRINCIPAL_ATTRIBUTION = "principal_attribution"
    FILE_KEY_SOURCES = "file_key_sources"

    @property
    def rule(self) -> str:
        """The ServerRules field that answers whether a release has it."""
        return _NEEDS[self].rule

    @property
    def description(self) -> str:
        return _NEEDS[self].description

    @property
    def first(self) -> ServerVersion | None:
        return _NEEDS[self].first

    def of(self, rules: ServerRules) -> bool:
        """Whether the release these rules describe has it."""
        value = getattr(rules, self.rule)
        assert isinstance(value, bool), f"ServerRules.{self.rule} is not a switch"
        return value

    def available(self, version: ServerVersion | str) -> bool:
        return self.of(rules_for(version))

    def missing_on(self, version: ServerVersion) -> str:
        """Why a case needing it does not apply to `version` (the wording of the since marker's skip)."""
        if self.first is None:
            return f"server {version} has no {self.description}"
        return f"{self.description} was added in {self.first}; server {version} has no such setting"


_NEEDS: dict[Feature, _Need] = {
    Feature.HTTP_API: _Need("http_api", "the HTTP API", _v(1, 22, 0)),
    Feature.AUTH_HEADER_NAME: _Need("header_name_configurable", "authHeaderName", _v(1, 23, 0)),
    Feature.AUTH_EXTRA_HEADER_NAME: _Need(
        "extra_header_name_configurable", "authExtraHeaderName", _v(1, 23, 0)
    ),
    Feature.DELETE_NAMESPACE_BY_ID: _Need(
        "delete_namespace_by_id",
        "DeleteNamespace's namespace_id (an allowed call fails after authorization, deleting nothing)",
        _v(1, 23, 0),
    ),
    Feature.NEXUS_APIS: _Need(
        "nexus_apis", "the Nexus task queue APIs (PollNexusTaskQueue, RespondNexusTask*)", _v(1, 23, 0)
    ),
    Feature.NEXUS_ENDPOINTS: _Need(
        "nexus_endpoints", "Nexus endpoints (OperatorService.CreateNexusEndpoint)", _v(1, 25, 0)
    ),
    Feature.HTTP_ALLOWED_HOSTS: _Need("http_allowed_hosts", "frontend.httpAllowedHosts", _v(1, 26, 0)),
    Feature.NEXUS_COMPLETIONS: _Need(
        "nexus_completion_metadata", "Nexus dispatch and completion API metadata", _v(1, 28, 0)
    ),
    Feature.PERMISSIONS_REGEX: _Need("regex_supported", "permissionsRegex", _v(1, 29, 0)),
    Feature.AUDIENCE: _Need("audience_supported", "audience", _v(1, 29, 0)),
    Feature.INTERNAL_HTTP: _Need(
        "internal_http", "internal-frontend's HTTP API (before it, nothing is left open)", _v(1, 29, 0)
    ),
    Feature.ALLOWED_HOSTS_CONVERTED: _Need(
        "allowed_hosts_converted", "frontend.httpAllowedHosts as a converted setting", _v(1, 29, 0)
    ),
    Feature.ORACLE_HEADER_LOOKUP: _Need(
        "oracle_header_lookup", "the interceptor's header lookup as the oracle reads it", _v(1, 29, 0)
    ),
    Feature.SCHEDULER_V2: _Need("scheduler_v2", "Scheduler V2 (CHASM)", _v(1, 30, 0)),
    Feature.PRINCIPAL_ATTRIBUTION: _Need("principal_propagation", "principal attribution", _v(1, 31, 0)),
    Feature.FILE_KEY_SOURCES: _Need("file_key_sources", "file:// key sources", _v(1, 32, 0)),
}
