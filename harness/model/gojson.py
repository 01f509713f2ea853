"""Go's encoding/json, as far as the server's decoders depend on it, on top of Python's json.

Where the two differ: Go reads bytes as UTF-8 and turns each invalid byte into U+FFFD (Python would
refuse the document, or guess UTF-16 or a BOM); a BOM is an invalid character to Go; NaN and Infinity
are not JSON; every number becomes a float64 (one beyond its range is an error, where the value is
decoded at all); a \\u escape of a lone surrogate becomes U+FFFD; a Decoder (json.NewDecoder) reads
the first value and ignores what follows it, where Unmarshal refuses anything but whitespace.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WHITESPACE = " \t\r\n"
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # an invalid byte, as surrogateescape decodes it
_SURROGATE = re.compile("[\ud800-\udfff]")


class GoJsonError(ValueError):
    """encoding/json refuses the document."""


@dataclass(frozen=True)
class Number:
    """A number kept as written: a struct field decides whether (and how) it is converted."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """An object as written: every member in order, names repeated and in any case (struct decoding
    matches names case-insensitively, and a name given twice is decoded twice)."""

    members: tuple[tuple[str, Any], ...]


def text_of(raw: bytes) -> str:
    """The document as Go reads it: UTF-8, each invalid byte one U+FFFD."""
    return _ESCAPED_BYTE.sub("\ufffd", raw.decode("utf-8", "surrogateescape"))


def float64(text: str) -> float:
    """A JSON number as a float64; beyond float64's range strconv.ParseFloat fails."""
    value = float(text)
    if math.isinf(value):
        raise GoJsonError(f"cannot unmarshal number {text[:40]} into a float64")
    return value


def _refuse_constant(name: str) -> Any:
    raise GoJsonError(f"invalid character in literal {name} (not JSON)")


def _go_string(value: str) -> str:
    return _SURROGATE.sub("\ufffd", value)


def _strings(value: Any) -> Any:
    """Lone surrogates (from \\u escapes) become U+FFFD, in names and values."""
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, dict):
        return {_go_string(k): _strings(v) for k, v in value.items()}
    if isinstance(value, Pairs):
        return Pairs(tuple((_go_string(k), _strings(v)) for k, v in value.members))
    if isinstance(value, list):
        return [_strings(v) for v in value]
    return value


def decode(raw: bytes, *, first_value_only: bool, lazy: bool = False) -> Any:
    """One JSON document. `first_value_only`: a Decoder (what follows the first value is never read);
    else Unmarshal. `lazy`: numbers as Number and objects as Pairs (for struct decoding); else numbers
    as float64 and objects as dicts whose repeated names keep their last value (map decoding)."""
    number: Callable[[str], Any] = Number if lazy else float64
    objects: Callable[[list[tuple[str, Any]]], Any] = (lambda p: Pairs(tuple(p))) if lazy else dict
    decoder = json.JSONDecoder(
        parse_float=number, parse_int=number, parse_constant=_refuse_constant, object_pairs_hook=objects
    )
    text = text_of(raw)
    start = len(text) - len(text.lstrip(WHITESPACE))
    try:
        value, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise GoJsonError(str(exc)) from exc
    if not first_value_only and text[end:].strip(WHITESPACE):
        raise GoJsonError("invalid character after top-level value")
    return _strings(value)


def _fold_rune(c: str) -> str:
    """foldRune: the smallest rune of the character's case orbit (the Kelvin sign folds to K, the long
    s to S), from Python's one-character case mappings."""
    orbit = {c}
    for _ in range(2):
        orbit |= {m for o in orbit for m in (o.lower(), o.upper()) if len(m) == 1}
    return min(orbit)


def fold(name: str) -> str:
    """encoding/json's foldName: two member names match case-insensitively when their folds are equal."""
    return "".join(c.upper() if c.isascii() else _fold_rune(c) for c in name)
