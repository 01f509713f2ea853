"""The http-headers class: the header lines of an HTTP API request as clients, proxies and people write
them: the token's header under its own name, in other cases and as `Grpc-Metadata-*` or `-Bin` metadata,
repeated; values with whitespace, tabs, control and non-ASCII bytes around the token; `Grpc-Timeout`.

An input is {"headers": [entry, ...]}, each entry {"name", "before", "token", "after", "base64"}: the value
is before + the token's text ("a": a token granting write on the suite's namespace, "b": read only, "":
none) + after, then base64 of all of it where "base64" says ("std", "raw": unpadded, "url"). Names and
the text around the token are byte strings written as Latin-1 (one character per byte: JSON-able).
Nothing here holds CR or LF (a line break would end the header line: header injection is not this class).
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

NAMES = (
    "Authorization", "authorization", "AUTHORIZATION", "aUTHORIZATION", "Grpc-Metadata-Authorization",
    "grpc-metadata-authorization", "Grpc-Metadata-Authorization-Bin", "Authorization-Bin",
    "Grpc-Metadata-X-Token-Bin", "Authorization-Extras", "Grpcgateway-Authorization",
    "Grpc-Metadata-Grpcgateway-Authorization", "Grpc-Metadata-Auth!", "X-Authorization", "Proxy-Authorization",
    "Authorization ", "Author\xefzation", "Auth@", "Grpc-Metadata-", "X-Forwarded-For", "Cookie",
)  # fmt: skip
BEFORE = (
    "Bearer ", "Bearer ", "bearer ", "BEARER ", "Bearer  ", "Bearer\t", " Bearer ", "\t Bearer ", "Bearer",
    "", "Basic ", "Bearer \t", "Bearer \xa0", "B\xe9arer ", "Bearer\xa0", "\x7fBearer ",
)  # fmt: skip
AFTER = ("", " ", "\t", "  \t ", "\x80", "\xff", "\xa0", "\xc3\xa9", " x", ".", "=", ",", ";")
CONTROLS = ("\x00", "\x01", "\x7f", "\x0b", "\x0c", "\x1f")  # net/http refuses these (400): drawn less
# Bytes the free text around the token is drawn from: whitespace, obs-text, separators, a control byte.
ODD_BYTES = " \t\x80\xa0\xffBer=,;\"'"
# Grpc-Timeout values: ones that do not decode (refused before authorization) and ones that give a deadline
# far beyond the call (or none: 0). Short and negative deadlines are not drawn: whether a call beats its
# deadline is timing, not header handling.
TIMEOUTS = (
    "60S", "5M", "1H", "+120S", "60S", "30M", "2H", "600000m", "0S", "-0S", "00H", "9223372036854775807n", "S", "5", "5s", "5 S",
    "1.5S", "5SS", "-", "99999999999999999999S", "0x10S", "\xef\xbc\x91S", "5h", "5\tS",
)  # fmt: skip
# Names the token normally travels under (most entries), and the rest.
USUAL = ("Authorization", "authorization", "Grpc-Metadata-Authorization", "grpc-metadata-authorization")
# Whitespace the value may carry around the token (most entries), before the odd bytes.
BLANKS = ("", "", "", " ", "\t", "  \t ")


def _entry(name: str, before: str, token: str, after: str, encoding: str) -> dict[str, str]:
    return {"name": name, "before": before, "token": token, "after": after, "base64": encoding}


# The entries' strategies, built once (building them inside each draw was most of the oracle phase's time).
_NAME = st.one_of(st.sampled_from(USUAL), st.sampled_from(NAMES))
_ODD = st.one_of(
    st.sampled_from(AFTER), st.sampled_from(AFTER), st.sampled_from(CONTROLS), st.text(ODD_BYTES, max_size=3)
)
_BLANKS = st.sampled_from(BLANKS)
_AROUND = st.one_of(_BLANKS, _BLANKS, _BLANKS, _BLANKS, _BLANKS, _ODD)
_CONTROL_BEFORE = st.sampled_from(CONTROLS).map(lambda c: c + "Bearer ")
_BEFORE = st.one_of(
    st.sampled_from(BEFORE[:4]), st.sampled_from(BEFORE), _AROUND.map(lambda b: b + "Bearer "), _ODD
)
_ONE_IN_16 = st.integers(0, 15)
_TOKENS = st.sampled_from(("a", "a", "b", ""))
# -Bin values are meant to be base64 (mostly they are); others rarely are.
_BIN_ENCODINGS = st.sampled_from(("std", "std", "raw", "url", ""))
_ENCODINGS = st.sampled_from(("", "", "", "", "", "std"))


@st.composite
def _token_entry(draw: st.DrawFn) -> dict[str, str]:
    name = draw(_NAME)
    before = draw(_CONTROL_BEFORE) if draw(_ONE_IN_16) == 0 else draw(_BEFORE)
    encodings = _BIN_ENCODINGS if name.endswith("-Bin") else _ENCODINGS
    return _entry(name, before, draw(_TOKENS), draw(_AROUND), draw(encodings))


@functools.cache
def http_header_inputs() -> st.SearchStrategy[dict[str, Any]]:
    timeout_entry = st.builds(
        _entry,
        st.sampled_from(("Grpc-Timeout", "grpc-timeout")),
        st.sampled_from(TIMEOUTS),
        st.just(""),
        st.sampled_from(("", " ", "\t")),
        st.just(""),
    )
    entries = st.one_of(_token_entry(), _token_entry(), _token_entry(), _token_entry(), timeout_entry)
    return st.fixed_dictionaries({"headers": st.lists(entries, min_size=1, max_size=4)})
