"""Hypothesis strategies for claim payloads: the shapes IdPs and humans put in tokens.

Reusable by users: `from harness.strategies import claim_payloads`. Generation only; sending happens
in the suite, outside generation.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

ROLE_WORDS = ["read", "write", "worker", "admin"]


def cased(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from([word, word.upper(), word.capitalize(), word.swapcase()])


def namespaces(own: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([own, "temporal-system", "system", "", "other-ns"]),
        cased(own),
        st.text(alphabet="abc-:. ", max_size=6),
    )


def roles() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ROLE_WORDS).flatmap(cased), st.sampled_from(["", "owner", "*", "read:extra"])
    )


def permission_entries(own: str) -> st.SearchStrategy[Any]:
    entry = st.builds(
        lambda ns, sep, role: f"{ns}{sep}{role}",
        namespaces(own),
        st.sampled_from([":", ":", ":", " : ", "::", ".", ""]),
        roles(),
    )
    junk: st.SearchStrategy[Any] = st.one_of(
        st.integers(-5, 5), st.none(), st.booleans(), st.just({"ns": own})
    )
    return st.one_of(entry, entry, entry, junk)


def permissions_claims(own: str) -> st.SearchStrategy[Any]:
    """Mostly arrays; sometimes the shapes the server silently ignores (a string, an object)."""
    return st.one_of(
        st.lists(permission_entries(own), max_size=6),
        st.lists(permission_entries(own), max_size=6),
        permission_entries(own),
        st.none(),
    )


def time_offsets() -> st.SearchStrategy[int | None]:
    """Seconds from now, kept away from the +-2 s boundary so the server's clock cannot race the model's."""
    return st.one_of(st.none(), st.just(0), st.integers(-86400, -5), st.integers(5, 86400))


@st.composite
def claim_payloads(draw: st.DrawFn, own: str, now: int) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    sub = draw(st.one_of(st.just("fuzz"), st.just(""), st.none(), st.integers(0, 3), st.just(["x"])))
    if sub is not None:
        payload["sub"] = sub
    permissions = draw(permissions_claims(own))
    if permissions is not None:
        payload["permissions"] = permissions
    for name in ("exp", "nbf", "iat"):
        offset = draw(time_offsets())
        if offset is not None:
            payload[name] = 0 if offset == 0 else now + offset
    if draw(st.booleans()):
        payload["aud"] = draw(st.sampled_from(["temporal", ["a", "b"], 7]))
    return payload
