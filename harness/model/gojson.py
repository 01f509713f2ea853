"""Go's encoding/json, as far as the server's decoders depend on it, on top of Python's json.

Where the two differ: Go reads bytes as UTF-8 and turns each invalid byte into U+FFFD (Python would
refuse the document, or guess UTF-16 or a BOM); a BOM is an invalid character to Go; NaN and Infinity
are not JSON; every number becomes a float64 (one beyond its range is an error, where the value is
decoded at all); a \\u escape of a lone surrogate becomes U+FFFD; a Decoder (json.NewDecoder) reads
the first value and ignores what follows it, where Unmarshal refuses anything but whitespace.
"""

from __future__ import annotations

import gc
import json
import math
import re
import sys
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
    """Lone surrogates (from \\u escapes) become U+FFFD, in names and values. Iterative: a document may
    nest up to encoding/json's limit (10000), far past Python's recursion limit."""
    if isinstance(value, str):
        return _go_string(value)
    if not isinstance(value, dict | Pairs | list):
        return value
    # Post-order over containers: each is rebuilt once its children are.
    done: dict[int, Any] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, ready = stack.pop()
        children = _children(node)
        if not ready:
            stack.append((node, True))
            stack.extend((c, False) for c in children if isinstance(c, dict | Pairs | list))
            continue
        done[id(node)] = _rebuilt(node, done)
    return done[id(value)]


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, Pairs):
        return [v for _, v in node.members]
    return list(node) if isinstance(node, list) else []


def _rebuilt(node: Any, done: dict[int, Any]) -> Any:
    def fixed(v: Any) -> Any:
        if isinstance(v, str):
            return _go_string(v)
        return done[id(v)] if isinstance(v, dict | Pairs | list) else v

    if isinstance(node, dict):
        return {_go_string(k): fixed(v) for k, v in node.items()}
    if isinstance(node, Pairs):
        return Pairs(tuple((_go_string(k), fixed(v)) for k, v in node.members))
    return [fixed(v) for v in node]


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
        if sys.getrecursionlimit() > MAX_NESTING_DEPTH:
            raise RecursionError  # the C decoder could go past Go's limit: read it as Go does
        value, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise GoJsonError(str(exc)) from exc
    except RecursionError:
        # Nested deeper than Python recurses (about 1000): read without recursion, to Go's limit.
        value, end = _Deep(text, number, objects).value(start)
    if not first_value_only and text[end:].strip(WHITESPACE):
        raise GoJsonError("invalid character after top-level value")
    # A lone surrogate comes only from a \\u escape (text_of leaves none in the text itself).
    return _strings(value) if "\\u" in text[start:end] else value


MAX_NESTING_DEPTH = 10000  # encoding/json scanner.go maxNestingDepth: deeper is "exceeded max depth"
_NUMBER = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# Runs of opening brackets: "[" and blanks; objects opening with a member name that has no escape and no
# control character (the text between its quotes is the name), up to its colon.
_ARRAY_RUN = re.compile(r"\[(?:[ \t\r\n]*\[)*")
_MEMBER_OPEN = re.compile(r'\{[ \t\r\n]*"([^"\\\x00-\x1f]*)"[ \t\r\n]*:')
_CLOSE_RUN = re.compile(r"[\]}]{2,}")  # closing brackets with no blank between them
_CLOSER_OF = str.maketrans("[{", "]}")
_MEMBER_RUN = re.compile(r'(?:\{[ \t\r\n]*"[^"\\\x00-\x1f]*"[ \t\r\n]*:[ \t\r\n]*)+')


class _Deep:
    """A JSON value read without recursion (an explicit stack), with the same hooks as the C decoder, and
    encoding/json's nesting limit."""

    def __init__(self, text: str, number: Callable[[str], Any], objects: Callable[[list[Any]], Any]) -> None:
        self.text, self.number, self.objects = text, number, objects

    def _space(self, at: int) -> int:
        while at < len(self.text) and self.text[at] in WHITESPACE:
            at += 1
        return at

    def _scalar(self, at: int) -> tuple[Any, int]:
        text = self.text
        if text.startswith('"', at):
            try:
                return json.decoder.scanstring(text, at + 1, True)  # type: ignore[attr-defined,no-any-return]
            except json.JSONDecodeError as exc:
                raise GoJsonError(str(exc)) from exc
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, at):
                return value, at + len(word)
        found = _NUMBER.match(text, at)
        if found is None or found.end() == at:
            raise GoJsonError(f"invalid character at offset {at}")
        return self.number(found.group(0)), found.end()

    def value(self, at: int) -> tuple[Any, int]:
        # Thousands of nested containers made one after another set off the cycle collector again and
        # again, each pass walking the whole unfinished document (half the time): paused while reading.
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._value(at)
        finally:
            if paused:
                gc.enable()

    def _value(self, at: int) -> tuple[Any, int]:
        # Each open container: [kind, items, the member name waiting for its value].
        stack: list[list[Any]] = []
        while True:
            at = self._space(at)
            if at >= len(self.text):
                raise GoJsonError("unexpected end of JSON input")
            char = self.text[at]
            if char == "[" or (char == "{" and _MEMBER_RUN.match(self.text, at)):
                # A run of opening brackets (or of objects opening with a plain member name): its
                # containers pushed at once, as Go would one by one (nothing but depth can fail in it).
                run = (_ARRAY_RUN if char == "[" else _MEMBER_RUN).match(self.text, at)
                assert run is not None
                names = _MEMBER_OPEN.findall(self.text, at, run.end()) if char == "{" else None
                opened = run.group().count("[") if names is None else len(names)
                if len(stack) + opened > MAX_NESTING_DEPTH:
                    raise GoJsonError("exceeded max depth")
                stack.extend([char, [], name] for name in names or [None] * opened)
                at = self._space(run.end())
                if char == "{" or at >= len(self.text) or self.text[at] != "]":
                    continue
                stack.pop()
                value: Any = []
                at += 1
            elif char == "{":
                if len(stack) >= MAX_NESTING_DEPTH:
                    raise GoJsonError("exceeded max depth")
                stack.append([char, [], None])
                at = self._space(at + 1)
                if at < len(self.text) and self.text[at] == "}":
                    stack.pop()
                    value = self.objects([])
                    at += 1
                else:
                    at = self._name(stack[-1], at)
                    continue
            else:
                value, at = self._scalar(at)
            value, at = self._closed(stack, value, at)
            while True:  # the value completes its container's next item; close what it completes
                if not stack:
                    return value, at
                top = stack[-1]
                top[1].append(value if top[0] == "[" else (top[2], value))
                at = self._space(at)
                closing = "]" if top[0] == "[" else "}"
                if at < len(self.text) and self.text[at] == ",":
                    at += 1
                    if top[0] == "{":
                        at = self._name(top, at)
                    break
                if at < len(self.text) and self.text[at] == closing:
                    stack.pop()
                    value = top[1] if top[0] == "[" else self.objects(top[1])
                    at += 1
                    continue
                raise GoJsonError(f"invalid character at offset {at}")

    def _closed(self, stack: list[list[Any]], value: Any, at: int) -> tuple[Any, int]:
        """Where closing brackets follow the value without blanks, as many of them as close the open
        containers in order, at once (the value is each one's last item); the rest as before."""
        run = _CLOSE_RUN.match(self.text, at)
        if run is None or not stack:
            return value, at
        closers = run.group()[: len(stack)]
        expected = "".join([top[0] for top in stack[-len(closers) :]])[::-1].translate(_CLOSER_OF)
        matched = len(closers)
        if closers != expected:
            matched = next(i for i, (a, b) in enumerate(zip(closers, expected, strict=True)) if a != b)
        for _ in range(matched):
            top = stack.pop()
            if top[0] == "[":
                top[1].append(value)
                value = top[1]
            else:
                top[1].append((top[2], value))
                value = self.objects(top[1])
        return value, at + matched

    def _name(self, top: list[Any], at: int) -> int:
        at = self._space(at)
        if not self.text.startswith('"', at):
            raise GoJsonError(f"invalid character at offset {at}: looking for a member name")
        name, at = self._scalar(at)
        at = self._space(at)
        if not self.text.startswith(":", at):
            raise GoJsonError(f"invalid character at offset {at}: after a member name")
        top[2] = name
        return at + 1


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
