"""Mapper then authorizer, as the frontend interceptor runs them: one call -> one expectation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.model.apis import ApiTable
from harness.model.authorizer import authorize
from harness.model.claims import Claims, KeyRing, MapperError, map_claims
from harness.model.rules import AuthConfig, ServerRules
from harness.types import CallTarget, Decision


@dataclass(frozen=True)
class Credential:
    """What a caller sends: its metadata headers (lower-case names, in order) and, for a minted token,
    the fingerprint of the key that really signed it (None: forged, tampered or unsigned)."""

    headers: Sequence[tuple[str, str]] = ()
    signed_by: str | None = None

    @classmethod
    def bearer(cls, token: str, signed_by: str | None) -> Credential:
        return cls(headers=(("authorization", f"Bearer {token}"),), signed_by=signed_by)

    @classmethod
    def anonymous(cls) -> Credential:
        return cls()


@dataclass(frozen=True)
class Expectation:
    decision: Decision
    reason: str
    claims: Claims | None


def _auth_header(credential: Credential, config: AuthConfig, rules: ServerRules) -> str:
    name = config.effective_header_name(rules)
    for header, value in credential.headers:
        # gRPC carries lower-case names; 1.23 looks the configured name up exactly, 1.24+ folds it.
        if header == name or (rules.header_name_case_insensitive and header == name.lower()):
            return value  # only the first value counts
    return ""


def expect(
    credential: Credential,
    target: CallTarget,
    *,
    rules: ServerRules,
    table: ApiTable,
    keyring: KeyRing,
    config: AuthConfig,
    now: int,
) -> Expectation:
    header_value = _auth_header(credential, config, rules)
    claims: Claims | None = None
    if header_value:
        # The mapper runs before the authorizer, so a bad token fails even the exempt calls.
        try:
            claims = map_claims(header_value, credential.signed_by, keyring, config, rules, now)
        except MapperError as refusal:
            return Expectation(Decision.DENY, f"claim mapper refused the token: {refusal}", None)
    decision, reason = authorize(claims, target, rules, table)
    return Expectation(decision, reason, claims)
