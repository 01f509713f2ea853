"""Sizes: deeply nested JSON in a token (payload or header) or in a key set, very long permission strings
and very many of them. An input is small (the depth and length, not the text) and is expanded into the
token-bytes or jwks class's input at sending time (harness.fuzz.sizes_text), so both classes' recipes,
fast and live, serve it unchanged.

encoding/json refuses nesting deeper than 10000 (scanner.go maxNestingDepth); the depths drawn sit on
both sides of it and of Python's own recursion limit (about 1000), where a naive model would crash.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

DEPTHS = (1, 2, 100, 500, 999, 1000, 1001, 3000, 9999, 10000, 10001, 12000)
TOKEN_PLACES = ("payload:x-deep", "payload:permissions", "payload:sub", "payload:aud", "header:x-deep",
                "permissions:entry")  # fmt: skip
JWKS_PLACES = ("document:x-deep", "document:keys", "key:x-deep", "key:n")
SHAPES = ("array", "object")
LENGTHS = (0, 1000, 8000, 30000)
COUNTS = (0, 1, 2000, 5000)
# The depths above, or any up to the last (the fast oracle asks thousands a run: a few dozen values would
# be asked over and over).
DEPTH = st.one_of(st.sampled_from(DEPTHS), st.integers(1, DEPTHS[-1]))


@functools.cache
def sizes_inputs() -> st.SearchStrategy[dict[str, Any]]:
    """{"target": "token"|"jwks", "place": ..., "depth": N, "shape": ..., "long": N, "many": N}"""
    token = st.fixed_dictionaries(
        {
            "target": st.just("token"),
            "place": st.sampled_from(TOKEN_PLACES),
            "depth": DEPTH,
            "shape": st.sampled_from(SHAPES),
            "long": st.one_of(st.sampled_from(LENGTHS), st.integers(0, LENGTHS[-1])),
            "many": st.one_of(st.sampled_from(COUNTS), st.integers(0, COUNTS[-1])),
        }
    )
    jwks = st.fixed_dictionaries(
        {
            "target": st.just("jwks"),
            "place": st.sampled_from(JWKS_PLACES),
            "depth": DEPTH,
            "shape": st.sampled_from(SHAPES),
        }
    )
    return st.one_of(token, token, jwks)
