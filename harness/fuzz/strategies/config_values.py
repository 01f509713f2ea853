"""Configuration values as people write them, each a fuzz class of its own:

allowed_hosts_inputs  frontend.httpAllowedHosts (a list of wildcard patterns, or a value that is not one:
                      a bare string, a number in the list, an empty list) and Host headers near them
audience_inputs       global.authorization.audience (case, spaces, several values in one string, Unicode)
                      against the aud claim a token carries (a string, a list, junk)
header_name_inputs    global.authorization.authHeaderName (case, Unicode letters that fold to ASCII ones,
                      spaces) against the lower-case metadata names gRPC carries
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

PATTERNS = (
    "localhost:*", "localhost", "127.0.0.1:*", "*.example.com", "temporal.example.com", "*", "",
    "LOCALHOST:*", " localhost:*", "localhost:7243", "[::1]:*", "*example*", "a*b", "temporal.example.com:443",
)  # fmt: skip
HOSTS = (
    "localhost:7243", "localhost", "127.0.0.1:7243", "LOCALHOST:7243", "[::1]:7243", "temporal.example.com",
    "api.example.com", "temporal.example.com.evil.net", "evil.net.temporal.example.com", "localhost.evil.net",
    "evil-localhost:7243", "example.com", "a-b", "ab", "x",
)  # fmt: skip
ODD_VALUES: tuple[Any, ...] = ("localhost:*", [], [7243], ["localhost:*", None], [["localhost:*"]], None)
JUNK = ("", "x", ".evil.net", "evil.", ":1", "/", "@")


@st.composite
def _host_near(draw: st.DrawFn, patterns: list[str]) -> str:
    """A Host written from one of the patterns: its * filled, something before or after it."""
    pattern = draw(st.sampled_from(patterns))
    filled = pattern.replace("*", draw(st.sampled_from(("", "7243", "api", "a.b"))))
    return draw(JUNKS) + filled + draw(JUNKS)


JUNKS = st.one_of(st.just(""), st.just(""), st.sampled_from(JUNK))
PATTERN_LISTS = st.lists(
    st.one_of(st.sampled_from(PATTERNS), st.text("ab*.:-", max_size=5)), min_size=1, max_size=4
)


@st.composite
def _allowed_hosts(draw: st.DrawFn) -> dict[str, Any]:
    value: Any = draw(st.one_of(PATTERN_LISTS, PATTERN_LISTS, PATTERN_LISTS, st.sampled_from(ODD_VALUES)))
    listed = tuple(p for p in value if isinstance(p, str)) if isinstance(value, list) else ()
    return {"patterns": value, "hosts": draw(_hosts_for(listed))}


@functools.lru_cache(maxsize=4096)
def _hosts_for(listed: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    """Hosts for these patterns: the strategy built once per list of patterns (building and validating it
    anew for every example was most of a draw's time)."""
    hosts = st.one_of(st.sampled_from(HOSTS), _host_near(list(listed))) if listed else st.sampled_from(HOSTS)
    return st.lists(hosts, min_size=1, max_size=4, unique=True)


@functools.cache
def allowed_hosts_inputs(live: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """{"patterns": the dynamic config value, "hosts": [Host, ...]}. `live`: lists of patterns only (what
    the live model's facts hold: harness.cases.runner.facts_of reads the value as a list, and an empty list
    as none)."""
    if live:
        return st.builds(lambda p, h: {"patterns": p, "hosts": h}, PATTERN_LISTS,
                         st.lists(st.sampled_from(HOSTS), min_size=1, max_size=4, unique=True))  # fmt: skip
    return _allowed_hosts()


AUDIENCES = ("temporal", "Temporal", " temporal", "temporal ", "temporal,other", "", "  ", "api://temporal",
             "tempora\u0142", "TEMPORAL")  # fmt: skip
AUD_CLAIMS: tuple[Any, ...] = (
    "temporal", ["temporal"], ["other", "temporal"], ["Temporal"], "temporal ", [], [""], "", None, 7,
    ["temporal", 7], {"aud": "temporal"}, "temporal,other", ["temporal,other"], ["", "temporal"],
)  # fmt: skip


@functools.cache
def audience_inputs() -> st.SearchStrategy[dict[str, Any]]:
    """{"audience": the configured value, "aud": the token's claim ("absent": none), "permissions": [...]}"""
    return st.fixed_dictionaries(
        {
            "audience": st.one_of(st.sampled_from(AUDIENCES), st.text("tempral ,", max_size=9)),
            "aud": st.one_of(st.sampled_from(AUD_CLAIMS), st.just("absent")),
            "permissions": st.just(["authz-conformance:write"]),
        }
    )


HEADER_NAMES = ("authorization", "Authorization", "AUTHORIZATION", "x-temporal-authorization",
                "X-Temporal-Authorization", "x-auth", "", " authorization", "authorization ",
                "x-\u017fecret", "x-\u212aey", "authori\u017fation", "\u0130d-token", "x-token")  # fmt: skip
METADATA_NAMES = ("authorization", "x-temporal-authorization", "x-auth", "x-secret", "x-key", "id-token",
                  "x-token", "authorization-extras")  # fmt: skip


# Spellings of a character in a header name: its cases, and the non-ASCII letters whose case folds
# reach it (the long s folds to s, the Kelvin sign to k, the dotted capital I lower-cases to i plus a dot).
_SPELLINGS = {"s": ("s", "S", "\u017f"), "k": ("k", "K", "\u212a"), "i": ("i", "I", "\u0130")}
_AROUND_NAME = st.sampled_from(("", "", "", " ", "\t"))


def _spelled(name: str) -> st.SearchStrategy[str]:
    """`name` with each letter in any of its spellings, and maybe a blank before or after."""
    letters = [st.sampled_from(_SPELLINGS.get(c, (c, c.upper()) if c.isalpha() else (c,))) for c in name]
    return st.tuples(_AROUND_NAME, *letters, _AROUND_NAME).map("".join)


@functools.cache
def header_name_inputs() -> st.SearchStrategy[dict[str, Any]]:
    """{"header_name": authHeaderName, "sent_as": the metadata name the token is sent under}: the names
    above, or a metadata name spelled any way (its 112 pairs alone were used up in seconds)."""
    spelled = st.one_of(*(_spelled(name) for name in METADATA_NAMES))
    return st.fixed_dictionaries(
        {
            "header_name": st.one_of(st.sampled_from(HEADER_NAMES), spelled),
            "sent_as": st.sampled_from(METADATA_NAMES),
        }
    )


# -- the live phase: a few values per run (a server each), many inputs against each ----------------------

LIVE_HOSTS = st.lists(st.sampled_from(HOSTS), min_size=1, max_size=4, unique=True)


def values_of(name: str) -> st.SearchStrategy[Any]:
    """The config values a live run draws a few of (one server each)."""
    return {
        "allowed-hosts": PATTERN_LISTS,
        "audience": st.one_of(st.sampled_from(AUDIENCES), st.text("tempral ,", max_size=9)),
        "header-name": st.sampled_from(HEADER_NAMES),
    }[name]


def live_inputs(name: str, values: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Inputs of class `name` over this run's values (shrinking towards the first)."""
    index = st.integers(0, len(values) - 1)
    if name == "allowed-hosts":
        return st.builds(lambda i, h: {"patterns": values[i], "hosts": h}, index, LIVE_HOSTS)
    if name == "audience":
        aud = st.one_of(st.sampled_from(AUD_CLAIMS), st.just("absent"))
        return st.builds(
            lambda i, a: {"audience": values[i], "aud": a, "permissions": ["authz-conformance:write"]},
            index,
            aud,
        )
    return st.builds(
        lambda i, m: {"header_name": values[i], "sent_as": m}, index, st.sampled_from(METADATA_NAMES)
    )
