"""Namespace and role strings: the spellings a person or an identity provider may put in a permission.

Case and Unicode: per-letter case changes, letters whose case mapping differs between Go's simple
mapping and Python's full one (U+0130, the Kelvin sign, long s, dotless i), fullwidth forms, invisible and
combining characters, and spaces the server never trims.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from harness.server.target import OTHER_NAMESPACE, SUITE_NAMESPACE

ROLE_WORDS = ("read", "write", "worker", "admin")
SYSTEM_SCOPE = "temporal-system"
OWN = SUITE_NAMESPACE
OTHER = OTHER_NAMESPACE

# Letters with a look-alike whose case mapping is special: Go lower-cases U+0130 to `i` and the Kelvin
# sign to `k` (unicode.ToLower, simple mapping); Python's str.lower() turns U+0130 into `i` + U+0307.
CASE_SPECIAL: dict[str, tuple[str, ...]] = {"i": ("\u0130", "\u0131"), "k": ("\u212a",), "s": ("\u017f",)}
LOOK_ALIKES: dict[str, tuple[str, ...]] = {
    "a": ("\u00e5", "\u0430"),  # a with ring, Cyrillic a
    "e": ("\u0435", "\u00e9"),  # Cyrillic e, e acute
    "o": ("\u043e", "\u00f6"),  # Cyrillic o, o umlaut
    "i": ("\u0456",),  # Cyrillic i
}
AFFIXES = (" ", "\t", "\u00a0", "\u200b", "\ufeff", "\u0307", "\n")
SEPARATORS = (":", ":", ":", ":", ":", ":", "::", " :", ": ", "\uff1a", ".", "")


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


STYLES = st.sampled_from(("same", "upper", "title", "letters", "case", "case", "look-alike", "fullwidth"))
AFFIX = st.one_of(st.just(""), st.just(""), st.just(""), st.sampled_from(AFFIXES))
SWAP = st.booleans()


def spell(draw: st.DrawFn, word: str) -> str:
    """`word` as written by someone: in another case, letter by letter, with look-alikes (each letter
    that has one is swapped half the time), in fullwidth, sometimes with an invisible or space affix.
    (A plain function over strategies built once: building strategies per draw is most of hypothesis's
    cost.)"""
    style = draw(STYLES)
    if style == "same":
        text = word
    elif style == "upper":
        text = word.upper()
    elif style == "title":
        text = word.capitalize()
    elif style == "fullwidth":
        text = fullwidth(word)
    elif style == "letters":
        text = "".join(c.swapcase() if draw(SWAP) else c for c in word)
    elif not word:
        text = word
    else:  # one letter swapped for a special-case letter (or a look-alike)
        table = CASE_SPECIAL if style == "case" else LOOK_ALIKES
        where = tuple(i for i, c in enumerate(word) if c in table) or (0,)
        i = draw(_sampled(where))
        swapped = draw(_sampled(tuple(table.get(word[i], (word[i].swapcase(),)))))
        text = word[:i] + swapped + word[i + 1 :]
    return draw(AFFIX) + text + draw(AFFIX)


@functools.lru_cache(maxsize=4096)
def _sampled(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """sampled_from(values), built once per tuple (spell's positions and swaps recur word after word)."""
    return st.sampled_from(values)


@st.composite
def spelled(draw: st.DrawFn, word: str) -> str:
    """`word` as written by someone (spell())."""
    return spell(draw, word)


@functools.cache
def spelled_one_of(words: tuple[str, ...]) -> st.SearchStrategy[str]:
    """One of `words`, spelled some way (spell())."""
    choice = st.sampled_from(words)
    return st.composite(lambda draw: spell(draw, draw(choice)))()


@functools.cache
def namespaces(own: str = OWN, other: str = OTHER) -> st.SearchStrategy[str]:
    """A namespace part: the caller's own, another, the system scope, near misses and junk."""
    choices = (own, own, other, SYSTEM_SCOPE, SYSTEM_SCOPE, "system", "", "*")
    words = st.sampled_from(choices)
    return st.one_of(words, words, spelled_one_of(choices), st.text(alphabet="abc-:. \u0130", max_size=6))


@functools.cache
def roles() -> st.SearchStrategy[str]:
    """A role part: the four role names in any spelling, and names the server does not know."""
    return st.one_of(
        st.sampled_from(ROLE_WORDS),
        spelled_one_of(ROLE_WORDS),
        spelled_one_of(ROLE_WORDS),
        st.sampled_from(("", "owner", "*", "read:extra", "readwrite", "adm", "administrator")),
    )


@functools.cache
def meaningful(words: tuple[str, ...]) -> st.SearchStrategy[str]:
    """One of `words` (names the server gives a meaning), as written or spelled some other way."""
    choice = st.sampled_from(words)

    @st.composite
    def written(draw: st.DrawFn) -> str:
        word = draw(choice)
        return spell(draw, word) if draw(SWAP) else word

    return written()


@functools.cache
def separators() -> st.SearchStrategy[str]:
    return st.sampled_from(SEPARATORS)


@functools.cache
def entries(own: str = OWN, other: str = OTHER) -> st.SearchStrategy[str]:
    """One `namespace:role` permission string: mostly names the server gives a meaning to, spelled in
    every way, sometimes near misses and junk."""
    namespace = st.one_of(meaningful((own, other, SYSTEM_SCOPE)), meaningful((own, other, SYSTEM_SCOPE)),
                          namespaces(own, other))  # fmt: skip
    role = st.one_of(meaningful(ROLE_WORDS), meaningful(ROLE_WORDS), roles())
    return st.builds(lambda ns, sep, r: f"{ns}{sep}{r}", namespace, separators(), role)


@functools.cache
def permission_lists(own: str = OWN, other: str = OTHER) -> st.SearchStrategy[list[str]]:
    """A permissions claim: an entry about the caller's own namespace (its name and role spelled in every
    way), and up to three more of any kind."""
    first = st.builds(
        lambda ns, sep, r: f"{ns}{sep}{r}", meaningful((own,)), separators(), meaningful(ROLE_WORDS)
    )
    return st.builds(lambda head, rest: [head, *rest], first, st.lists(entries(own, other), max_size=3))
