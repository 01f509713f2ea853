"""Claim payloads: the shapes identity providers and people put in tokens.

An input is JSON-able: `payload` holds the claims as sent, except registered time claims given
relative to the moment of sending (`relative`, seconds: kept 5 s or more from the boundary so the
server's clock cannot race the model's), and `padding`, a huge list written compactly (N copies of one
entry before or after the drawn permissions).
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from harness.fuzz.strategies import names

TIME_CLAIMS = ("exp", "nbf", "iat")
# Absolute values the server reads as float64 seconds: 0 is "absent"; past 2**63 Go's conversion to
# int64 wraps; a string, null or bool is not a number at all.
LITERAL_TIMES: tuple[Any, ...] = (
    0,
    0.0,
    -1,
    1,
    0.5,
    10**19,
    1e19,
    -1e19,
    2**63,
    9.2233720368e18,
    1e300,
    "9999999999",
    None,
    True,
    [1],
)


@functools.cache
def cased(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from((word, word.upper(), word.capitalize(), word.swapcase()))


@functools.cache
def namespaces(own: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from((own, "temporal-system", "system", "", "other-ns")),
        cased(own),
        st.text(alphabet="abc-:. ", max_size=6),
    )


@functools.cache
def roles() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(names.ROLE_WORDS).flatmap(cased),
        st.sampled_from(("", "owner", "*", "read:extra")),
    )


@functools.cache
def permission_entries(own: str) -> st.SearchStrategy[Any]:
    entry = st.builds(
        lambda ns, sep, role: f"{ns}{sep}{role}",
        namespaces(own),
        st.sampled_from((":", ":", ":", " : ", "::", ".", "")),
        roles(),
    )
    junk: st.SearchStrategy[Any] = st.one_of(
        st.integers(-5, 5), st.none(), st.booleans(), st.just({"ns": own}), st.just([f"{own}:admin"])
    )
    return st.one_of(entry, entry, entry, junk)


@functools.cache
def permissions_claims(own: str) -> st.SearchStrategy[Any]:
    """Mostly arrays; sometimes the shapes the server silently ignores (a string, an object)."""
    return st.one_of(
        st.lists(permission_entries(own), max_size=6),
        st.lists(permission_entries(own), max_size=6),
        permission_entries(own),
        st.none(),
    )


@functools.cache
def time_offsets() -> st.SearchStrategy[int | None]:
    """Seconds from now, kept away from the +-2 s boundary so the server's clock cannot race the model's."""
    return st.one_of(st.none(), st.just(0), st.integers(-86400, -5), st.integers(5, 86400))


@functools.cache
def subjects() -> st.SearchStrategy[Any]:
    """`sub`: must be a string (any string, even empty); anything else refuses the token."""
    return st.one_of(
        st.just("fuzz"),
        st.just(""),
        st.text(max_size=8),
        st.just("x" * 4000),
        st.integers(-3, 3),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.just(["fuzz"]),
        st.just({"id": "fuzz"}),
    )


@functools.cache
def relative_times() -> st.SearchStrategy[float]:
    """An offset from now, in or out of the claim's window, whole or fractional seconds."""
    whole = st.one_of(st.integers(-86400 * 400, -5), st.integers(5, 86400 * 400))
    return st.one_of(whole, whole.map(lambda s: s + 0.5), st.sampled_from((-5.25, 5.75, 3600, -3600)))


TIME_KINDS = st.sampled_from(("absent", "absent", "relative", "relative", "literal"))
LITERAL_TIME = st.sampled_from(LITERAL_TIMES)
AUDIENCES = st.sampled_from(("temporal", ["a", "b"], 7, [], [""], None))
OTHER_CLAIMS = st.sampled_from(("iss", "jti", "azp", "scope"))
SHORT_TEXT = st.text(max_size=5)
PADDING_COUNTS = st.sampled_from((100, 1000, 3000))
PADDING_AT = st.sampled_from(("start", "end"))


@functools.cache
def _subject_choices() -> st.SearchStrategy[Any]:
    return st.one_of(st.just("fuzz"), subjects(), st.none())


@functools.cache
def _permission_choices(own: str) -> st.SearchStrategy[Any]:
    return st.one_of(permissions_claims(own), names.permission_lists(own))


@functools.cache
def _padding_entries(own: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(("x:read", f"{own}:read", 7, "temporal-system:admin", ""))


@st.composite
def claim_inputs(draw: st.DrawFn, own: str = names.OWN) -> dict[str, Any]:
    """A claims-class input: {"payload": ..., "relative": {...}, "padding": {...}}."""
    payload: dict[str, Any] = {}
    relative: dict[str, float] = {}
    sub = draw(_subject_choices())
    if sub is not None:
        payload["sub"] = sub
    permissions = draw(_permission_choices(own))
    if permissions is not None:
        payload["permissions"] = permissions
    for name in TIME_CLAIMS:
        kind = draw(TIME_KINDS)
        if kind == "relative":
            relative[name] = draw(relative_times())
        elif kind == "literal":
            payload[name] = draw(LITERAL_TIME)
    if draw(st.booleans()):
        payload["aud"] = draw(AUDIENCES)
    if draw(st.integers(0, 9)) == 9:
        payload[draw(OTHER_CLAIMS)] = draw(SHORT_TEXT)
    data: dict[str, Any] = {"payload": payload, "relative": relative}
    if isinstance(permissions, list) and draw(st.integers(0, 7)) == 7:
        entry = draw(_padding_entries(own))
        data["padding"] = {"count": draw(PADDING_COUNTS), "entry": entry, "at": draw(PADDING_AT)}
    return data


def render_payload(data: dict[str, Any], now: float) -> dict[str, Any]:
    """The payload as sent at `now`: relative times resolved, padding expanded."""
    payload = dict(data.get("payload") or {})
    for name, offset in (data.get("relative") or {}).items():
        payload[name] = int(now) + offset if isinstance(offset, int) else now + offset
    padding = data.get("padding")
    if padding and isinstance(payload.get("permissions"), list):
        filler = [padding["entry"]] * int(padding["count"])
        drawn = list(payload["permissions"])
        payload["permissions"] = filler + drawn if padding.get("at") == "start" else drawn + filler
    return payload


# -- the shapes of the first claim fuzzer, kept for users of harness.strategies ---------------------------


@st.composite
def claim_payloads(draw: st.DrawFn, own: str, now: int) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    sub = draw(st.one_of(st.just("fuzz"), st.just(""), st.none(), st.integers(0, 3), st.just(["x"])))
    if sub is not None:
        payload["sub"] = sub
    permissions = draw(permissions_claims(own))
    if permissions is not None:
        payload["permissions"] = permissions
    for name in TIME_CLAIMS:
        offset = draw(time_offsets())
        if offset is not None:
            payload[name] = 0 if offset == 0 else now + offset
    if draw(st.booleans()):
        payload["aud"] = draw(st.sampled_from(["temporal", ["a", "b"], 7]))
    return payload
