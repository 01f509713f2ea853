"""Token recipes a case declares as data: the permissions and the claims; a callable only for a forged
token. `"{system}"` in a permission stands for the release's system scope (temporal-system, or system
before it), filled in for the server the case runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.server.target import Target
from harness.tokens.mint import MintedToken

SYSTEM = "{system}"


@dataclass(frozen=True, eq=False)  # eq=False: claims may hold lists; a recipe is compared by identity
class Minted:
    """A token signed by the server's key, minted when the case runs (so it is fresh, with its exp)."""

    permissions: tuple[str, ...]
    claims: dict[str, Any]  # TokenSpec fields beyond the permissions: exp_in, sub, aud, extra, ...

    def __call__(self, target: Target) -> MintedToken:
        return target.mint([p.replace(SYSTEM, target.system_scope) for p in self.permissions], **self.claims)


def token(*permissions: str, **claims: Any) -> Minted:
    """`token(f"{NS}:write", aud="x")`, `token("{system}:admin", exp_in=-60)`."""
    return Minted(permissions, claims)
