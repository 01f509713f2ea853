"""Key sets as identity providers publish them (Azure AD, Okta, Auth0, Keycloak, Google): several key types
side by side, RSA keys of unusual sizes and exponents, EC keys on three curves, Ed25519, x5c certificate
chains (self-signed or issued by a CA, the wrong key's, wrapped in lines, damaged), x5t and x5t#S256
thumbprints (right, as hex, wrong, padded), use, key_ops and a per-key alg, private members, extra
members, and kids that repeat. A recipe over the class's key slots (harness.fuzz.idp_keys), rendered by
harness.fuzz.idp_text; JSON-able."""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from harness.fuzz.idp_keys import SIGNING, SLOTS

X5C = ("self", "chain", "issued", "other", "garbage", "truncated", "wrapped", "urlsafe", "empty", "ca-only")
THUMBPRINTS = ("right", "right-hex", "wrong", "padded", "empty")
USES = ("sig", "enc", "", "SIG")
KEY_OPS: tuple[object, ...] = (["verify"], ["sign", "verify"], ["encrypt"], [], "verify")
ALGS = ("RS256", "RS512", "PS256", "ES256", "ES384", "EdDSA", "RSA-OAEP", "none", "")
KIDS = ("rsa2048", "ec256", "shared", "", "RSA2048")
EXTRAS = ({"issuer": "https://login.example/tenant/v2.0"}, {"cloud_instance_name": "example.net"},
          {"x5u": "https://idp.example/certs/key.pem"}, {"ext": True}, {"key_ops": None})  # fmt: skip

MAYBE = st.booleans()


ONE_IN_4, ONE_IN_8 = st.integers(0, 3), st.integers(0, 7)  # built once: not in every draw


def _maybe(draw: st.DrawFn, choices: st.SearchStrategy[Any]) -> Any:
    """Absent most of the time (None), else one of `choices`."""
    return draw(choices) if draw(ONE_IN_4) == 3 else None


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {"slot": draw(ENTRY_SLOTS)}
    for name, choices in (("kid", KID), ("use", USE), ("key_ops", OPS), ("alg", ALG), ("x5c", CHAINS),
                          ("x5t", PRINTS), ("x5t#S256", PRINTS), ("extra", EXTRA)):  # fmt: skip
        value = _maybe(draw, choices)
        if value is not None:
            entry[name] = value
    if draw(ONE_IN_8) == 7:
        entry["private"] = True
    return entry


ENTRY_SLOTS = st.one_of(st.just("rsa2048"), st.sampled_from(SLOTS))
KID = st.sampled_from(KIDS)
USE = st.sampled_from(USES)
OPS = st.sampled_from(KEY_OPS)
ALG = st.sampled_from(ALGS)
CHAINS = st.one_of(st.just("self"), st.just("chain"), st.sampled_from(X5C))
PRINTS = st.one_of(st.just("right"), st.sampled_from(THUMBPRINTS))
EXTRA = st.sampled_from(EXTRAS)


@functools.cache
def idp_inputs() -> st.SearchStrategy[dict[str, Any]]:
    """A jwks-idp input: the keys (1 to 6, any slots, in order), the status, and which slot signs."""
    return st.fixed_dictionaries(
        {
            "keys": st.lists(entries(), min_size=1, max_size=6),
            "status": st.one_of(st.just(200), st.just(200), st.just(200), st.sampled_from((404, 500))),
            "sign_with": st.sampled_from((*SIGNING, "stranger")),
        }
    )
