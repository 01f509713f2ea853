"""A token profile as data: the server's config, the principals with their claims and intent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.model.rules import AuthConfig
from harness.server.config import ServerSettings


@dataclass(frozen=True)
class Rule:
    allow: bool
    terms: tuple[str, ...]  # group or method names
    namespaces: tuple[str, ...]  # empty: the profile's namespaces


@dataclass(frozen=True)
class Principal:
    name: str
    claims: Mapping[str, Any]
    rules: tuple[Rule, ...]
    alg: str = "RS256"
    note: str = ""


@dataclass(frozen=True)
class ExternalKeys:
    """An external cluster and the key its JWKS trusts."""

    target: str
    signing_key: Path
    kid: str
    tls: bool = False
    ca: Path | None = None
    server_name: str = ""


@dataclass(frozen=True)
class ExpectedDifference:
    principal: str
    intent: str
    namespace: str | None  # None: any namespace (and cluster calls)
    server: str  # "allows" | "denies"
    because: str
    where: str  # "file:line"

    def matches(self, principal: str, intent: str, namespace: str, server: str) -> bool:
        return (self.principal, self.intent, self.server) == (
            principal,
            intent,
            server,
        ) and self.namespace in (None, namespace)

    def describe(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.principal}: {self.intent}{where}: the server {self.server}"


@dataclass(frozen=True)
class Profile:
    path: Path
    name: str
    description: str
    version: str | None  # None: the harness's pinned version
    authorization: Mapping[str, str]
    permission_format: str | None
    external: ExternalKeys | None
    namespaces: tuple[str, ...]
    principals: tuple[Principal, ...]
    expected: tuple[ExpectedDifference, ...]

    def settings(self, admin_permission: str = "") -> ServerSettings:
        return ServerSettings(authorization=dict(self.authorization), admin_permission=admin_permission)

    def auth_config(self) -> AuthConfig:
        return self.settings().auth_config()

    def all_namespaces(self) -> tuple[str, ...]:
        """The profile's namespaces and every namespace a rule names, in order of appearance."""
        seen = dict.fromkeys(self.namespaces)
        for principal in self.principals:
            for rule in principal.rules:
                seen.update(dict.fromkeys(rule.namespaces))
        return tuple(seen)
