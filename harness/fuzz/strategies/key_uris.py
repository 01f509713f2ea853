"""jwtKeyProvider.keySourceURIs as people write them: 1-3 entries, each a spelling of a file URI of the key
set file the harness writes ("{dir}/keys.json"), of the URL of the key set the harness serves ("{0}"), or
a blank. Spellings vary the scheme's case, the host (localhost in any case, an address, a port, userinfo),
the slashes, dot segments and percent-escapes in the path, a query or fragment, and whitespace around.
Data only: {"uris": [...]} with the two placeholders, filled by whoever serves the files (the fast oracle's
program, a live server's run)."""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

DIR, SERVED = "{dir}", "{0}"  # the key set file's directory, and the served key set's URL
FILE_NAME = "keys.json"

FILE_PREFIXES = (
    "file://", "file://", "FILE://", "File://", "file://localhost", "file://LOCALHOST", "file://Localhost",
    "file://127.0.0.1", "file://localhost:0", "file://localhost:", "file://user@localhost", "file://user@",
    "file://[::1]", "file://%6Cocalhost", "file://localhost.", "file:", "file:/", "file:///", "", "fil://",
)  # fmt: skip
SEPARATORS = ("/", "/", "//", "/./", "/%2E/", "/%2e/", "/%2F", "/.//")
NAMES = (FILE_NAME, FILE_NAME, "%6Beys.json", "keys%2Ejson", "KEYS.json", "keys.json/", "keys.json/.",
         "keys.json%", "keys.json%zz", "keys.json%00")  # fmt: skip
SUFFIXES = ("", "", "?x=1", "#frag", "?", "#", "?x#y", "%20", "#\t", "# ")
HTTP_SUFFIXES = ("", "", "?x=1", "#frag", "/", "/.", "%20", "?", "#", "#\t")
SPACES = ("", "", "", " ", "\t", "\n")
BLANKS = ("", " ", "\t", "  \n")


def _spelled(*parts: tuple[str, ...]) -> st.SearchStrategy[str]:
    """One choice from each of `parts`, joined (the strategies built once, not in every draw)."""
    return st.tuples(*(st.sampled_from(p) for p in parts)).map("".join)


_FILE_URI = _spelled(SPACES, FILE_PREFIXES, (DIR,), SEPARATORS, NAMES, SUFFIXES, SPACES)
_HTTP_URI = _spelled(SPACES, (SERVED,), HTTP_SUFFIXES, SPACES)


@functools.cache
def key_uri_lists() -> st.SearchStrategy[list[str]]:
    """1-3 keySourceURIs entries (shrinking towards one plain file URI)."""
    entry = st.one_of(_FILE_URI, _HTTP_URI, st.sampled_from(BLANKS))
    return st.lists(entry, min_size=1, max_size=3)


@functools.cache
def key_uri_inputs() -> st.SearchStrategy[dict[str, Any]]:
    """{"uris": [keySourceURIs entry, ...]}: "{dir}" is the key set file's directory, "{0}" the served
    key set's URL."""
    return key_uri_lists().map(lambda uris: {"uris": uris})


# Sets each live phase starts a server for besides those it draws: the spellings measured on the release
# (loaded, refused, skipped), together so that a failing entry's effect on the others is seen live too.
LIVE_SETS = (
    ["FILE://{dir}/./keys.json?x=1", "file://localhost{dir}//%6Beys.json#frag", "{0}#frag", " "],
    ["file:{dir}/keys.json", "{0}? ", "\t"],
    ["file://{dir}/keys.json", "file://LOCALHOST{dir}/keys.json"],
    ["{0}", "{dir}/keys.json"],
    ["{0} ", "file://{dir}/keys.json "],
)


def filled(uri: str, directory: str, served_url: str) -> str:
    """An entry with its placeholders filled (as the oracle program fills them: {dir} first)."""
    return uri.replace(DIR, directory).replace(SERVED, served_url)
