"""A profile's result: each principal's probed calls compared with its intent, matched against the
differences the profile expects. Pure: it never touches a server."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.profiles.compare import Difference, PrincipalCheck, Probed
from harness.profiles.formats import PermissionFormat, permission_format
from harness.profiles.oracle import ModelContext
from harness.profiles.profile import ExpectedDifference, Principal, Profile
from harness.profiles.reading import read_claims


@dataclass
class ProfileRun:
    profile: Profile
    server: dict[str, Any]
    fmt: PermissionFormat
    principals: list[PrincipalCheck] = field(default_factory=list)

    @property
    def differences(self) -> list[Difference]:
        return [d for p in self.principals for d in p.differences]

    @property
    def missing(self) -> list[ExpectedDifference]:
        """Expected differences that did not show: the server (or the profile) changed."""
        seen = [d.expected for d in self.differences if d.expected is not None]
        return [e for e in self.profile.expected if e not in seen]

    @property
    def unexpected(self) -> list[Difference]:
        return [d for d in self.differences if d.expected is None]

    @property
    def disagreements(self) -> list[tuple[str, Probed]]:
        return [(p.name, probed) for p in self.principals for probed in p.disagreements]

    @property
    def exit_status(self) -> int:
        return 1 if self.unexpected or self.missing or self.disagreements else 0


def examples(profile: Profile, claim_name: str) -> list[str]:
    """Every entry the principals carry in the server's claim: where a format can be learned from."""
    return [e for p in profile.principals for e in (p.claims.get(claim_name) or []) if isinstance(e, str)]


def format_for(profile: Profile, ctx: ModelContext) -> PermissionFormat:
    return permission_format(ctx, profile.permission_format, examples(profile, ctx.claim_name))


def finish(
    profile: Profile,
    principal: Principal,
    payload: Mapping[str, Any],
    probed: Sequence[Probed],
    ctx: ModelContext,
    fmt: PermissionFormat,
) -> PrincipalCheck:
    """Compare one principal's probed calls with its intent and mark the differences the profile expects."""
    reading = read_claims(payload, ctx, profile.all_namespaces())
    check = PrincipalCheck(principal.name, dict(payload), reading, list(probed), ctx, fmt)
    for difference in check.compare():
        difference.expected = _expected_for(profile.expected, difference)
    return check


def _expected_for(expected: Iterable[ExpectedDifference], d: Difference) -> ExpectedDifference | None:
    return next((e for e in expected if e.matches(d.principal, d.intent, d.namespace, d.server)), None)
