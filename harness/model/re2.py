"""Go's regexp syntax (RE2 with the Perl extensions regexp.Compile turns on), matched by the RE2 engine.

The server compiles permissionsRegex with Go's regexp, which runs in time linear in the text. The model
matches with the RE2 engine (google-re2, C++ RE2: linear too, leftmost-first like Go's
FindStringSubmatch), never with Python's backtracking re: a pattern such as `^((a|aa)+):` takes minutes
in a backtracking engine on thirty characters. A pattern is parsed here as Go parses it (what Go refuses
is Re2Error: the server logs it and ignores the regex) and written out with Go's meaning in the syntax Go
and C++ RE2 read alike, so no difference between the two dialects reaches the engine:

- ^ and $ are the text's ends unless (?m): \\A, \\z;
- every character class is an explicit class of \\x{..} ranges: \\d \\s \\w and POSIX classes are ASCII,
  \\pL and other Unicode categories are ranges from Python's unicodedata, `.` is [^\\n] unless (?s);
- (?i) folds by Unicode simple case folding (the Kelvin sign is a k, U+0131 is nobody's i): every
  literal and class is widened to its fold orbits, and no case-insensitive flag reaches the engine;
- (?U) swaps greedy and lazy; flags set in mid-pattern last to the end of their group;
- \\Q..\\E, \\x{..}, octal \\123 and the other escapes are literals (\\x{..}); {,n} and other braces that
  are not a repeat count are literal braces; x{0} is written without its body (its groups never take part);
- nested repeat counts over 1000 copies are refused as Go refuses them (repeatIsValid);
- every group is a numbered group, and `groups` gives each name's last index (a name may be used twice;
  the server takes the last).

Text is matched as Go holds it: a lone surrogate (which no UTF-8 string holds) is U+FFFD.

Not modelled (Unmodelled): Unicode script names (\\p{Greek}); patterns too large for the engine's memory
budget; Unicode versions may differ (Go's tables against Python's unicodedata) for recent characters.
Approximated: Go refuses a parse tree over 1000 high (checkHeight) or over its size limit (checkSize);
the model refuses groups nested over 1000 deep and leaves size to the engine's budget, so a pattern
nested near a thousand levels, or one that compiles to millions of instructions, may read differently.
"""

from __future__ import annotations

import bisect
import functools
import re
import sys
import unicodedata
from dataclasses import dataclass, field

# The google-re2 binding. An absolute import: this module is harness.model.re2, and `re2` is the
# installed package, never this file (tests/test_model_re2_engine.py checks it).
import re2 as engine

MAX_RUNE = sys.maxunicode
Ranges = list[tuple[int, int]]


class Re2Error(ValueError):
    """Go's regexp refuses the pattern."""


class Unmodelled(ValueError):
    """A pattern Go accepts whose meaning the model cannot run (a Unicode script, or too large)."""


_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Translated:
    text: str  # the pattern in the syntax Go's regexp and C++ RE2 read alike, with Go's meaning
    groups: dict[str, int]  # name -> the last group index with that name
    pattern: engine._Regexp[str] = field(compare=False)

    def submatches(self, text: str) -> tuple[str, ...] | None:
        """FindStringSubmatch: the leftmost-first match and its groups ("" for a group that took no
        part), None without a match; in time linear in the text."""
        found = self._search(text)
        if found is None:
            return None
        _, match = found
        return tuple(part.decode() for part in (match.group(0), *match.groups(b"")))

    def spans(self, text: str) -> list[tuple[int, int]] | None:
        """FindStringSubmatchIndex in characters of `text`: (start, end) of the match and of each
        group, (-1, -1) for a group that took no part; None without a match."""
        found = self._search(text)
        if found is None:
            return None
        data, match = found
        regs = [match.span(i) for i in range(self.pattern.groups + 1)]
        at = {-1: -1} | {b: len(data[:b].decode()) for span in regs for b in span if b >= 0}
        return [(at[lo], at[hi]) for lo, hi in regs]

    def _search(self, text: str) -> tuple[bytes, engine._Match[bytes]] | None:
        """Go tries a match at each character; C++ RE2 at each byte of the UTF-8 text, where \\B holds
        inside a character (both neighbouring bytes are non-word). No other construct matches there,
        so a match that starts inside a character is empty and made of \\B: the search goes on from
        the next character, as Go's would."""
        data = _SURROGATE.sub("\ufffd", text).encode()
        match = self.pattern.search(data)
        while match is not None and _inside_character(data, match.start()):
            match = self.pattern.search(data, _next_character(data, match.start()))
        return None if match is None else (data, match)


def _inside_character(data: bytes, at: int) -> bool:
    return at < len(data) and 0x80 <= data[at] < 0xC0  # a UTF-8 continuation byte


def _next_character(data: bytes, at: int) -> int:
    at += 1
    while _inside_character(data, at):
        at += 1
    return at


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
    return list(_unicode_class(name))


@functools.lru_cache(maxsize=1024)
def _unicode_class(name: str) -> tuple[tuple[int, int], ...]:
    """unicode_class's answer per name (a category's ranges normalized once, not in every pattern)."""
    if name == "Any":
        return ((0, MAX_RUNE),)
    categories = _categories()
    if len(name) == 1:
        subs = CATEGORY_GROUPS.get(name) or tuple(c for c in categories if c.startswith(name) and c != "Cn")
    else:
        subs = (name,) if name in categories and name != "Cn" else ()
    if not subs:
        if len(name) >= 3 and name[:1].isupper() and name[1:].replace("_", "").isalpha():
            raise Unmodelled(f"\\p{{{name}}}: Unicode scripts are not modelled")
        raise Re2Error(f"invalid character class range: \\p{{{name}}}")
    return tuple(normalize([r for s in subs for r in categories.get(s, [])]))


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
    return list(_folded(tuple(ranges)))


@functools.lru_cache(maxsize=4096)
def _folded(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """fold's answer per distinct ranges (a class such as \\p{L} folds thousands of letters: the same
    classes recur in pattern after pattern)."""
    cased, orbits = _orbits()
    extra: Ranges = []
    for lo, hi in ranges:
        for code in cased[bisect.bisect_left(cased, lo) : bisect.bisect_right(cased, hi)]:
            extra += [(m, m) for m in orbits[code]]
    return tuple(normalize([*ranges, *extra]))


def _escape(code: int) -> str:
    return f"\\x{{{code:x}}}"


def _literal_text(code: int) -> str:
    char = chr(code)
    return char if char.isascii() and char.isalnum() else _escape(code)


NOTHING = f"[^{_escape(0)}-{_escape(MAX_RUNE)}]"  # a class that matches nothing


def class_text(ranges: Ranges) -> str:
    ranges = normalize(ranges)
    if not ranges:
        return NOTHING
    return (
        "[" + "".join(_escape(lo) if lo == hi else f"{_escape(lo)}-{_escape(hi)}" for lo, hi in ranges) + "]"
    )


# -- the parser -------------------------------------------------------------------------------------

FOLD, MULTILINE, DOTNL, UNGREEDY = "i", "m", "s", "U"
MAX_REPEAT = 1000  # Go's repeat counts, and the copies nested counts may make of one thing
MAX_DEPTH = 1000  # groups nested deeper: "expression nests too deeply"
MAX_MEM = 256 << 20  # the engine's memory budget: Go accepts \pL{1000}, which needs 1.2 M instructions

_REPEAT_COUNT = re.compile(r"\{(0|[1-9][0-9]*)(,(0|[1-9][0-9]*)?)?\}")
_HEX_BRACED = re.compile(r"\{([0-9A-Fa-f]+)\}")
_HEX_TWO = re.compile(r"[0-9A-Fa-f]{2}")
_POSIX_NAME = re.compile(r"(\^?)([a-z]*)")


@dataclass(frozen=True, eq=False)
class Repeat:
    """An x{low,high} in the parse tree, with the ones nested in it (Go's repeatIsValid walks them)."""

    low: int
    high: int  # -1: no upper bound
    inner: tuple[Repeat, ...]


def repeat_is_valid(top: Repeat, limit: int = MAX_REPEAT) -> bool:
    """Go's repeatIsValid: nested repeat counts make at most `limit` copies of the innermost thing. A
    {0} is not looked into. Walked with a stack: nesting can run a thousand deep."""
    todo = [(top, limit)]
    while todo:
        repeat, n = todo.pop()
        m = repeat.high
        if m == 0:
            continue
        if m < 0:
            m = repeat.low
        if m > n:
            return False
        if m > 0:
            n //= m
        todo.extend((inner, n) for inner in repeat.inner)
    return True


@dataclass
class Item:
    """One thing a repetition operator can apply to, written out."""

    text: str
    repeats: tuple[Repeat, ...] = ()  # the outermost x{n,m} in it
    captures: int = 0  # capture groups in it


@dataclass
class Frame:
    """An open group (or the whole pattern): its finished branches and the items of the current one."""

    saved: set[str]  # the flags to restore at its `)`
    capture: bool
    captures_before: int
    branches: list[str] = field(default_factory=list)
    repeats: list[Repeat] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    def end_branch(self) -> None:
        self.branches.append("".join(item.text for item in self.items))
        self.repeats.extend(r for item in self.items for r in item.repeats)
        self.items = []

    def close(self) -> tuple[str, tuple[Repeat, ...]]:
        self.end_branch()
        return "|".join(self.branches), tuple(self.repeats)


class Parser:
    """Go's parser (regexp/syntax parse.go) for the Perl flags regexp.Compile uses: a loop over the
    pattern with a stack of open groups, as Go's own, so nesting never recurses."""

    def __init__(self, pattern: str) -> None:
        self.s = pattern
        self.i = 0
        self.flags: set[str] = set()
        self.groups: dict[str, int] = {}
        self.count = 0
        self.stack = [Frame(saved=set(), capture=False, captures_before=0)]
        self.last_repeat = False  # the previous token was a repetition operator
        self._posix_close: int | None = None  # where the next `:]` is (a search is never repeated)

    def error(self, what: str) -> Re2Error:
        return Re2Error(f"error parsing regexp: {what} at {self.i} in {self.s!r}")

    def peek(self, n: int = 0) -> str:
        return self.s[self.i + n] if self.i + n < len(self.s) else ""

    @property
    def frame(self) -> Frame:
        return self.stack[-1]

    def parse(self) -> str:
        while self.i < len(self.s):
            c = self.peek()
            repeat = False
            if c in "*+?" or (c == "{" and self.repeat_count() is not None):
                self.repetition()
                repeat = True
            elif c == "(":
                self.group()
            elif c == "|":
                self.i += 1
                self.frame.end_branch()
            elif c == ")":
                self.close_group()
            else:
                self.frame.items.extend(self.atom())
            self.last_repeat = repeat
        if len(self.stack) > 1:
            raise Re2Error(f"error parsing regexp: missing closing ): `{self.s}`")
        text, _ = self.frame.close()
        return text

    # repetition
    def repeat_count(self) -> tuple[int, int, int] | None:
        """{n}, {n,} or {n,m} at the current position: (min, max or -1, length); None when the braces
        are not a repeat count (then they are literal). Numbers with a leading zero are not counts."""
        match = _REPEAT_COUNT.match(self.s, self.i)
        if match is None:
            return None
        low = int(match.group(1)) if len(match.group(1)) <= 9 else -1
        if match.group(2) is None:
            high = low
        elif match.group(3) is None:
            high = -1
        else:
            high = int(match.group(3)) if len(match.group(3)) <= 9 else 10**9
        return low, high, match.end() - self.i

    def repetition(self) -> None:
        start = self.i
        c = self.peek()
        low, high = {"*": (0, -1), "+": (1, -1), "?": (0, 1)}.get(c, (0, 0))
        length = 1
        if c == "{":
            count = self.repeat_count()
            assert count is not None
            low, high, length = count
            if low < 0 or low > MAX_REPEAT or high > MAX_REPEAT or (high >= 0 and low > high):
                raise self.error(f"invalid repeat count: `{self.s[start : start + length]}`")
        self.i += length
        lazy = UNGREEDY in self.flags
        if self.peek() == "?":
            self.i += 1
            lazy = not lazy
        if self.last_repeat:
            raise self.error("invalid nested repetition operator")
        items = self.frame.items
        if not items:
            raise self.error("missing argument to repetition operator")
        item = items[-1]
        if c != "{":
            items[-1] = Item(f"(?:{item.text}){c}{'?' if lazy else ''}", item.repeats, item.captures)
            return
        repeat = Repeat(low, high, item.repeats)
        if (low >= 2 or high >= 2) and not repeat_is_valid(repeat):
            raise self.error(f"invalid repeat count: `{self.s[start : start + length]}`")
        if high == 0:
            # x{0} matches the empty string and its groups never take part: written without x, so that
            # C++ RE2 (which, unlike Go, counts the repeats inside a {0}) never sees them.
            items[-1] = Item(f"(?:{NOTHING}{'()' * item.captures})?", (repeat,), item.captures)
            return
        operator = f"{{{low}}}" if low == high else f"{{{low},{'' if high < 0 else high}}}"
        items[-1] = Item(f"(?:{item.text}){operator}{'?' if lazy else ''}", (repeat,), item.captures)

    # atoms
    def atom(self) -> list[Item]:
        c = self.peek()
        if c == "[":
            return [Item(class_text(self.char_class()))]
        self.i += 1
        if c == ".":
            return [Item(class_text([(0, MAX_RUNE)] if DOTNL in self.flags else negate([(10, 10)])))]
        if c == "^":
            return [Item("(?m:^)" if MULTILINE in self.flags else "\\A")]
        if c == "$":
            return [Item("(?m:$)" if MULTILINE in self.flags else "\\z")]
        if c == "\\":
            return self.escape_atom()
        return [self.literal(ord(c))]

    def literal(self, code: int) -> Item:
        if FOLD in self.flags:
            orbit = fold([(code, code)])
            if orbit != [(code, code)]:
                return Item(class_text(orbit))
        return Item(_literal_text(code))

    def escape_atom(self) -> list[Item]:
        c = self.peek()
        simple = {"A": "\\A", "z": "\\z", "b": "\\b", "B": "\\B"}  # \b is ASCII in Go and C++ RE2 alike
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
            braced = _HEX_BRACED.match(self.s, self.i)
            if braced is not None and int(braced.group(1), 16) <= MAX_RUNE:
                self.i = braced.end()
                return int(braced.group(1), 16)
            two = _HEX_TWO.match(self.s, self.i)
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
            close = self.posix_close()
            if close >= 0:  # [:name:] up to the next `:]`, as Go's parseNamedClass looks
                name = self.s[self.i + 2 : close]
                posix = _POSIX_NAME.fullmatch(name)
                if posix is None or posix.group(2) not in POSIX:
                    raise self.error(f"invalid character class range: `[:{name}:]`")
                self.i = close + 2
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

    def posix_close(self) -> int:
        """Where the `:]` closing a `[:` at the current position is, or -1 (no `[:` here, or no `:]`
        after it). Each search starts past the last one found, so a class full of `[:` stays linear."""
        if not self.s.startswith("[:", self.i):
            return -1
        if self._posix_close is None or 0 <= self._posix_close < self.i + 2:
            self._posix_close = self.s.find(":]", self.i + 2)
        return self._posix_close

    def class_char(self) -> int:
        if self.peek() == "\\":
            return self.char_escape()
        c = self.peek()
        self.i += 1
        return ord(c)

    # groups
    def group(self) -> None:
        s, i = self.s, self.i
        named = (len(s) - i > 4 and s.startswith("(?P<", i)) or (len(s) - i > 3 and s.startswith("(?<", i))
        if named:
            end = s.find(">", i)
            if end < 0:
                raise self.error("invalid named capture")
            name = s[s.index("<", i) + 1 : end]
            if not name or not all(c == "_" or (c.isascii() and c.isalnum()) for c in name):
                raise self.error(f"invalid named capture: `{s[i : end + 1]}`")
            self.i = end + 1
            self.count += 1
            self.groups[name] = self.count
            self.open(capture=True)
        elif s.startswith("(?", i):
            self.flag_group()
        else:
            self.i += 1
            self.count += 1
            self.open(capture=True)

    def open(self, capture: bool, saved: set[str] | None = None) -> None:
        before = self.count - 1 if capture else self.count
        self.stack.append(Frame(set(self.flags) if saved is None else saved, capture, before))
        if len(self.stack) > MAX_DEPTH + 1:
            raise self.error("expression nests too deeply")

    def close_group(self) -> None:
        if len(self.stack) == 1:
            raise Re2Error(f"error parsing regexp: unexpected ): `{self.s}`")
        self.i += 1
        frame = self.stack.pop()
        body, repeats = frame.close()
        self.flags = frame.saved
        text = f"({body})" if frame.capture else f"(?:{body})"
        self.frame.items.append(Item(text, repeats, self.count - frame.captures_before))

    def flag_group(self) -> None:
        """(?flags) for the rest of the enclosing group, or (?flags:re); Go's parsePerlFlags."""
        start = self.i
        saved = set(self.flags)
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
                if c == ":":
                    self.open(capture=False, saved=saved)
                self.flags = flags
                return
            else:
                break
        raise Re2Error(
            f"error parsing regexp: invalid or unsupported Perl syntax: `{self.s[start : self.i]}`"
        )


def _options() -> engine.Options:
    options = engine.Options()
    options.log_errors = False  # a refusal is an exception here, not a line on stderr
    options.max_mem = MAX_MEM
    return options


def translate(pattern: str) -> Translated:
    """Go's reading of `pattern`, compiled by the RE2 engine. Re2Error where Go refuses it; Unmodelled
    where the model cannot say what it means."""
    answer = _translated(pattern)
    if isinstance(answer, Translated):
        return answer
    raise type(answer)(*answer.args)  # a new one each time: a raised exception keeps its traceback


@functools.lru_cache(maxsize=256)
def _translated(pattern: str) -> Translated | Re2Error | Unmodelled:
    """translate(), refusals remembered too (the fuzzer asks the same refused pattern once per entry of
    every example: parsing it again was a tenth of the regex class's time)."""
    try:
        return _translate(pattern)
    except (Re2Error, Unmodelled) as refusal:
        return refusal


def _translate(pattern: str) -> Translated:
    if _SURROGATE.search(pattern):  # what Go gets is not UTF-8 (a Go string cannot hold a surrogate)
        raise Re2Error(f"error parsing regexp: invalid UTF-8: `{pattern!r}`")
    parser = Parser(pattern)
    text = parser.parse()
    try:
        compiled = engine.compile(text, _options())
    except engine.error as exc:  # a pattern the engine cannot hold is the model's own limit
        raise Unmodelled(f"{pattern!r}: the RE2 engine refuses its translation: {exc}") from exc
    return Translated(text, dict(parser.groups), compiled)
