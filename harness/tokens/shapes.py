"""The grid's token shapes: what people put in the permissions claim, relative to a namespace `{ns}`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TokenShape:
    name: str  # CamelCase, reads like the server's own tables: NamespaceReader, SystemAdmin
    permissions: Sequence[str] | None  # None: the token has no permissions claim at all
    anonymous: bool = False  # no authorization header
    note: str = ""

    def claim(self, namespace: str) -> list[str] | None:
        if self.permissions is None:
            return None
        return [p.replace("{ns}", namespace).replace("{NS}", namespace.upper()) for p in self.permissions]


GRID_SHAPES: tuple[TokenShape, ...] = (
    TokenShape("NamespaceReader", ["{ns}:read"]),
    TokenShape("NamespaceWriter", ["{ns}:write"]),
    TokenShape("NamespaceWorker", ["{ns}:worker"], note="docs list worker as a role; it grants nothing"),
    TokenShape("NamespaceAdmin", ["{ns}:admin"]),
    TokenShape("NamespaceReaderWriter", ["{ns}:read", "{ns}:write"], note="the sample's worker token"),
    TokenShape("NamespaceReaderWorker", ["{ns}:read", "{ns}:worker"]),
    TokenShape("NamespaceWriterWorker", ["{ns}:write", "{ns}:worker"]),
    TokenShape("NamespaceWriteThenRead", ["{ns}:write", "{ns}:read"], note="an override would leave reader"),
    TokenShape("NamespaceAllFour", ["{ns}:read", "{ns}:write", "{ns}:worker", "{ns}:admin"]),
    TokenShape("SystemReader", ["temporal-system:read"]),
    TokenShape("SystemWriter", ["temporal-system:write"]),
    TokenShape("SystemAdmin", ["temporal-system:admin"]),
    TokenShape("LegacySystemAdmin", ["system:admin"], note="samples-go and guides before 2024"),
    TokenShape("UpperCaseNamespaceReader", ["{NS}:read"], note="namespaces are case-sensitive since 1.21"),
    TokenShape("UpperCaseRoleReader", ["{ns}:READ"], note="role names are case-insensitive"),
    TokenShape("EmptyPermissions", []),
    TokenShape("NoPermissionsClaim", None),
    TokenShape("Anonymous", None, anonymous=True),
)
