"""Go's regexp syntax (RE2 with the Perl extensions regexp.Compile turns on) translated into Python's re.

The server compiles permissionsRegex with Go's regexp; the model matches with Python's re, so a pattern
is parsed here as Go parses it (what Go refuses is Re2Error: the server logs it and ignores the regex)
and written out as a Python pattern with Go's meaning:

- ^ and $ are the text's ends unless (?m) (Python's $ also matches before a final newline): \\A, \\Z;
- \\d \\s \\w \\b and POSIX classes are ASCII; \\pL and other Unicode categories become explicit ranges;
- (?i) folds by Unicode simple case folding (the Kelvin sign is a k, U+0131 is nobody's i): every
  literal and class is widened to its fold orbits, and Python's IGNORECASE is never used;
- (?U) swaps greedy and lazy; flags set in mid-pattern last to the end of their group;
- \\Q..\\E, \\x{..}, octal \\123 and the other escapes are literals; {,n} and other braces that are not
  a repeat count are literal braces;
- every group is a numbered group in Python, and `groups` gives each name's last index (a name may be
  used twice; the server takes the last).

Not modelled (Unmodelled): Unicode script names (\\p{Greek}); Unicode versions may differ (Go's tables
against Python's unicodedata) for characters added recently.
"""

from __future__ import annotations

import bisect
import functools
import re
import sys
import unicodedata
from dataclasses import dataclass, field

MAX_RUNE = sys.maxunicode
Ranges = list[tuple[int, int]]


class Re2Error(ValueError):
    """Go's regexp refuses the pattern."""


class Unmodelled(ValueError):
    """A pattern Go accepts whose meaning the model cannot write in Python's re."""


@dataclass(frozen=True)
class Translated:
    python: str
    groups: dict[str, int]  # name -> the last group index with that name
    pattern: re.Pattern[str] = field(compare=False)


# -- character sets ---------------------------------------------------------------------------------


def normalize(ranges: Ranges) -> Ranges:
    merged: Ranges = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def negate(ranges: Ranges) -> Ranges:
    out: Ranges = []
    next_lo = 0
    for lo, hi in normalize(ranges):
        if lo > next_lo:
            out.append((next_lo, lo - 1))
        next_lo = hi + 1
    if next_lo <= MAX_RUNE:
        out.append((next_lo, MAX_RUNE))
    return out


def _chars(text: str) -> Ranges:
    return [(ord(c), ord(c)) for c in text]


PERL = {
    "d": [(0x30, 0x39)],
    "s": _chars("\t\n\f\r "),
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
}
POSIX = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": _chars("\t "),
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": _chars("\t\n\v\f\r "),
    "upper": [(0x41, 0x5A)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}
CATEGORY_GROUPS = {"C": ("Cc", "Cf", "Co", "Cs")}  # Go's C (Other) leaves unassigned code points out


@functools.cache
def _categories() -> dict[str, Ranges]:
    """Every general category's ranges, from Python's unicodedata (one scan, on first use)."""
    found: dict[str, Ranges] = {}
    start, current = 0, unicodedata.category("\x00")
    for code in range(1, MAX_RUNE + 2):
        category = unicodedata.category(chr(code)) if code <= MAX_RUNE else ""
        if category != current:
            found.setdefault(current, []).append((start, code - 1))
            start, current = code, category
    return found


def unicode_class(name: str) -> Ranges:
    if name == "Any":
        return [(0, MAX_RUNE)]
    categories = _categories()
    if len(name) == 1:
        subs = CATEGORY_GROUPS.get(name) or tuple(c for c in categories if c.startswith(name) and c != "Cn")
    else:
        subs = (name,) if name in categories and name != "Cn" else ()
    if not subs:
        if len(name) >= 3 and name[:1].isupper() and name[1:].replace("_", "").isalpha():
            raise Unmodelled(f"\\p{{{name}}}: Unicode scripts are not modelled")
        raise Re2Error(f"invalid character class range: \\p{{{name}}}")
    return normalize([r for s in subs for r in categories.get(s, [])])


@functools.cache
def _orbits() -> tuple[list[int], dict[int, tuple[int, ...]]]:
    """Simple case-folding orbits (unicode.SimpleFold), from Python's one-character case mappings: the
    characters that have company, sorted, and each one's orbit. U+0130 and U+0131 fold to no other
    letter (their case mappings to i and I are not foldings)."""
    links: dict[int, set[int]] = {}
    for code in range(MAX_RUNE + 1):
        c = chr(code)
        if c in "\u0130\u0131":
            continue
        for m in (c.lower(), c.upper()):
            if len(m) == 1 and m != c and m not in "\u0130\u0131":
                links.setdefault(code, set()).add(ord(m))
                links.setdefault(ord(m), set()).add(code)
    orbits: dict[int, tuple[int, ...]] = {}
    for code in links:
        if code in orbits:
            continue
        seen, todo = {code}, [code]
        while todo:
            for nxt in links.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        orbit = tuple(sorted(seen))
        for member in orbit:
            orbits[member] = orbit
    return sorted(orbits), orbits


def fold(ranges: Ranges) -> Ranges:
    """The ranges with every member's fold orbit added (Go's appendFoldedRange)."""
    cased, orbits = _orbits()
    extra: Ranges = []
    for lo, hi in ranges:
        for code in cased[bisect.bisect_left(cased, lo) : bisect.bisect_right(cased, hi)]:
            extra += [(m, m) for m in orbits[code]]
    return normalize([*ranges, *extra])


def _escape(code: int) -> str:
    return f"\\U{code:08x}"


def class_text(ranges: Ranges) -> str:
    ranges = normalize(ranges)
    if not ranges:
        return f"[^{_escape(0)}-{_escape(MAX_RUNE)}]"  # matches nothing
    return (
        "[" + "".join(_escape(lo) if lo == hi else f"{_escape(lo)}-{_escape(hi)}" for lo, hi in ranges) + "]"
    )


# -- the parser -------------------------------------------------------------------------------------

FOLD, MULTILINE, DOTNL, UNGREEDY = "i", "m", "s", "U"


@dataclass
class Item:
    text: str  # Python pattern text
    repeated: bool = False  # a repetition was just applied (another one is a nested repetition)


class Parser:
    def __init__(self, pattern: str) -> None:
        self.s = pattern
        self.i = 0
        self.flags: set[str] = set()
        self.groups: dict[str, int] = {}
        self.count = 0
        self.depth = 0

    def error(self, what: str) -> Re2Error:
        return Re2Error(f"error parsing regexp: {what} at {self.i} in {self.s!r}")

    def peek(self, n: int = 0) -> str:
        return self.s[self.i + n] if self.i + n < len(self.s) else ""

    def rest(self) -> str:
        return self.s[self.i :]

    # alternation and concatenation
    def alternation(self) -> str:
        branches = [self.concatenation()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.concatenation())
        return "|".join(branches)

    def concatenation(self) -> str:
        items: list[Item] = []
        while self.i < len(self.s) and self.peek() not in "|)":
            c = self.peek()
            if c in "*+?" or (c == "{" and self.repeat_count() is not None):
                self.repetition(items)
                continue
            items.extend(self.atom())
        return "".join(item.text for item in items)

    # repetition
    def repeat_count(self) -> tuple[int, int, int] | None:
        """{n}, {n,} or {n,m} at the current position: (min, max or -1, length); None when the braces
        are not a repeat count (then they are literal). Numbers with a leading zero are not counts."""
        match = re.match(r"\{(0|[1-9][0-9]*)(,(0|[1-9][0-9]*)?)?\}", self.rest())
        if match is None:
            return None
        low = int(match.group(1)) if len(match.group(1)) <= 9 else -1
        if match.group(2) is None:
            high = low
        elif match.group(3) is None:
            high = -1
        else:
            high = int(match.group(3)) if len(match.group(3)) <= 9 else 10**9
        return low, high, match.end()

    def repetition(self, items: list[Item]) -> None:
        start = self.i
        c = self.peek()
        low, high = {"*": (0, -1), "+": (1, -1), "?": (0, 1)}.get(c, (0, 0))
        length = 1
        if c == "{":
            count = self.repeat_count()
            assert count is not None
            low, high, length = count
            if low < 0 or low > 1000 or high > 1000 or (high >= 0 and low > high):
                raise self.error(f"invalid repeat count: `{self.s[start : start + length]}`")
        self.i += length
        lazy = UNGREEDY in self.flags
        if self.peek() == "?":
            self.i += 1
            lazy = not lazy
        if not items:
            raise self.error("missing argument to repetition operator")
        if items[-1].repeated:
            raise self.error("invalid nested repetition operator")
        if c == "{":
            operator = f"{{{low}}}" if low == high else f"{{{low},{'' if high < 0 else high}}}"
        else:
            operator = c
        items[-1] = Item(f"(?:{items[-1].text}){operator}{'?' if lazy else ''}", repeated=True)

    # atoms
    def atom(self) -> list[Item]:
        c = self.peek()
        if c == "(":
            return self.group()
        if c == "[":
            return [Item(class_text(self.char_class()))]
        self.i += 1
        if c == ".":
            return [Item("(?s:.)" if DOTNL in self.flags else "[^\\n]")]
        if c == "^":
            return [Item("(?m:^)" if MULTILINE in self.flags else "\\A")]
        if c == "$":
            return [Item("(?m:$)" if MULTILINE in self.flags else "\\Z")]
        if c == "\\":
            return self.escape_atom()
        return [self.literal(ord(c))]

    def literal(self, code: int) -> Item:
        if FOLD in self.flags:
            orbit = fold([(code, code)])
            if orbit != [(code, code)]:
                return Item(class_text(orbit))
        return Item(re.escape(chr(code)))

    def escape_atom(self) -> list[Item]:
        c = self.peek()
        simple = {"A": "\\A", "z": "\\Z", "b": "(?a:\\b)", "B": "(?a:\\B)"}
        if c in simple:
            self.i += 1
            return [Item(simple[c])]
        if c == "C":
            raise self.error("invalid escape sequence: `\\C`")
        if c == "Q":
            end = self.s.find("\\E", self.i + 1)
            text = self.s[self.i + 1 :] if end < 0 else self.s[self.i + 1 : end]
            self.i = len(self.s) if end < 0 else end + 2
            return [self.literal(ord(ch)) for ch in text]
        self.i -= 1  # back to the backslash
        ranges = self.class_escape()
        if ranges is not None:
            return [Item(class_text(ranges))]
        return [self.literal(self.char_escape())]

    def class_escape(self) -> Ranges | None:
        """\\d \\s \\w (and negations) or \\pX \\p{Name} \\PX at the backslash; None for other escapes."""
        c = self.peek(1)
        if c.lower() in PERL and c:
            self.i += 2
            return self.group_ranges(PERL[c.lower()], negated=c.isupper())
        if c not in ("p", "P"):
            return None
        negated = c == "P"
        self.i += 2
        if self.peek() == "{":
            end = self.s.find("}", self.i)
            if end < 0:
                raise self.error("invalid character class range")
            name, self.i = self.s[self.i + 1 : end], end + 1
        else:
            name = self.peek()
            if not name:
                raise self.error("invalid character class range")
            self.i += 1
        if name.startswith("^"):
            negated, name = not negated, name[1:]
        return self.group_ranges(unicode_class(name), negated)

    def group_ranges(self, ranges: Ranges, negated: bool) -> Ranges:
        """A class group, folded under (?i) before it is negated (Go's appendGroup)."""
        ranges = fold(ranges) if FOLD in self.flags else normalize(ranges)
        return negate(ranges) if negated else ranges

    def char_escape(self) -> int:
        """parseEscape at the backslash: one character."""
        self.i += 1
        c = self.peek()
        if not c:
            raise self.error("trailing backslash at end of expression")
        self.i += 1
        if c in "1234567" and not ("0" <= self.peek() <= "7"):
            raise self.error(f"invalid escape sequence: `\\{c}`")
        if c in "01234567":
            value = int(c)
            for _ in range(2):
                if not ("0" <= self.peek() <= "7"):
                    break
                value = value * 8 + int(self.peek())
                self.i += 1
            return value
        if c == "x":
            braced = re.match(r"\{([0-9A-Fa-f]+)\}", self.rest())
            if braced is not None and int(braced.group(1), 16) <= MAX_RUNE:
                self.i += braced.end()
                return int(braced.group(1), 16)
            two = re.match(r"[0-9A-Fa-f]{2}", self.rest())
            if self.peek() == "{" or two is None:
                raise self.error("invalid escape sequence: `\\x`")
            self.i += 2
            return int(two.group(0), 16)
        named = {"a": 7, "f": 12, "t": 9, "n": 10, "r": 13, "v": 11}
        if c in named:
            return named[c]
        if c.isascii() and not c.isalnum():
            return ord(c)
        raise self.error(f"invalid escape sequence: `\\{c}`")

    # character classes
    def char_class(self) -> Ranges:
        start = self.i
        self.i += 1
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        ranges: Ranges = []
        first = True
        while True:
            if self.i >= len(self.s):
                raise Re2Error(f"error parsing regexp: missing closing ]: `{self.s[start:]}`")
            if self.peek() == "]" and not first:
                self.i += 1
                break
            first = False
            posix = re.match(r"\[:(\^?)([a-z]*):\]", self.rest()) if self.rest().startswith("[:") else None
            if self.rest().startswith("[:") and ":]" in self.rest()[2:]:
                name = self.rest()[2 : self.rest().index(":]", 2)]
                if posix is None or posix.group(2) not in POSIX:
                    raise self.error(f"invalid character class range: `[:{name}:]`")
                self.i += posix.end()
                ranges += self.group_ranges(POSIX[posix.group(2)], negated=bool(posix.group(1)))
                continue
            if self.peek() == "\\":
                group = self.class_escape()
                if group is not None:
                    ranges += group
                    continue
            low = self.class_char()
            high = low
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                high = self.class_char()
                if high < low:
                    raise self.error("invalid character class range")
            ranges += fold([(low, high)]) if FOLD in self.flags else [(low, high)]
        ranges = normalize(ranges)
        return negate(ranges) if negated else ranges

    def class_char(self) -> int:
        if self.peek() == "\\":
            return self.char_escape()
        c = self.peek()
        self.i += 1
        return ord(c)

    # groups
    def group(self) -> list[Item]:
        rest = self.rest()
        saved = set(self.flags)
        named = (len(rest) > 4 and rest.startswith("(?P<")) or (len(rest) > 3 and rest.startswith("(?<"))
        if named:
            end = rest.find(">")
            if end < 0:
                raise self.error("invalid named capture")
            name = rest[rest.index("<") + 1 : end]
            if not name or not all(c == "_" or (c.isascii() and c.isalnum()) for c in name):
                raise self.error(f"invalid named capture: `{rest[: end + 1]}`")
            self.i += end + 1
            self.count += 1
            self.groups[name] = self.count
            return [Item("(" + self.group_body(saved) + ")")]
        if rest.startswith("(?"):
            return self.flag_group(saved)
        self.i += 1
        self.count += 1
        return [Item("(" + self.group_body(saved) + ")")]

    def group_body(self, saved: set[str]) -> str:
        self.depth += 1
        if self.depth > 1000:
            raise self.error("expression nests too deeply")
        body = self.alternation()
        if self.peek() != ")":
            raise Re2Error(f"error parsing regexp: missing closing ): `{self.s}`")
        self.i += 1
        self.depth -= 1
        self.flags = saved
        return body

    def flag_group(self, saved: set[str]) -> list[Item]:
        """(?flags) for the rest of the enclosing group, or (?flags:re); Go's parsePerlFlags."""
        start = self.i
        self.i += 2
        flags, negative, saw = set(self.flags), False, False
        while self.i < len(self.s):
            c = self.peek()
            self.i += 1
            if c in (FOLD, MULTILINE, DOTNL, UNGREEDY):
                (flags.discard if negative else flags.add)(c)
                saw = True
            elif c == "-" and not negative:
                negative, saw = True, False
            elif c in ":)":
                if negative and not saw:
                    break
                if c == ")":
                    self.flags = flags
                    return []
                self.flags = flags
                return [Item("(?:" + self.group_body(saved) + ")")]
            else:
                break
        raise Re2Error(
            f"error parsing regexp: invalid or unsupported Perl syntax: `{self.s[start : self.i]}`"
        )


@functools.lru_cache(maxsize=256)
def translate(pattern: str) -> Translated:
    """Go's reading of `pattern` as a Python pattern. Re2Error where Go refuses it; Unmodelled where the
    model cannot say what it means."""
    parser = Parser(pattern)
    text = parser.alternation()
    if parser.i < len(pattern):
        raise Re2Error(f"error parsing regexp: unexpected ): `{pattern}`")
    try:
        compiled = re.compile(text)
    except re.error as exc:  # a translation Python cannot compile is the model's own limit
        raise Unmodelled(f"{pattern!r} translated to a pattern Python refuses: {exc}") from exc
    return Translated(text, dict(parser.groups), compiled)
