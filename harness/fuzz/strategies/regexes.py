"""permissionsRegex configurations and the permission strings to try against them.

The server compiles the regex with Go's regexp (RE2 syntax) and reads the `namespace` and `role` named
groups of FindStringSubmatch; the model uses Python's re on a translation. So patterns are drawn from
parts in the RE2 subset both read alike, RE2 constructs Python spells differently or lacks (POSIX
classes, \\pL, \\Q..\\E, \\x{..}, \\z, (?U), flags in mid-pattern, repeat limits), and constructs only
Python has (lookaround, backreferences, possessive and atomic groups, \\Z, (?x), (?a), comments).
Each pattern comes with samples of its parts, so strings can be built near its language and an admin
permission for it can be tried first.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from hypothesis import strategies as st

from harness.fuzz.strategies import names

Part = tuple[str, str]  # (pattern, a sample it matches)

PREFIXES: tuple[Part, ...] = (
    ("", ""), ("^", ""), ("\\A", ""), ("perm:", "perm:"), ("^temporal\\.", "temporal."), ("(?:urn:)?", ""),
    ("[a-z]*/", "x/"), ("(?i)", ""), ("(?s)", ""), ("(?m)^", ""), ("^(?i)", ""),
    # RE2 only
    ("^\\Qa.b\\E", "a.b"), ("\\x{61}=", "a="), ("[[:alpha:]]+=", "ab="), ("\\pL+=", "ab="), ("(?U)", ""),
    # Python only
    ("(?x)", ""), ("(?a)", ""), ("(?<=^)", ""), ("^(?=[a-z])", ""), ("(?#note)", ""),
)  # fmt: skip
NAMESPACES: tuple[Part, ...] = (
    ("[\\w-]+", ""), ("[^:]+", ""), (".+", ""), (".+?", ""), ("[a-z.-]+", ""), ("\\S+", ""), ("[^\\s:]+", ""),
    ("\\w+(?:-\\w+)*", ""), (".*", ""), ("(?i:[a-z-]+)", ""), ("[\\w-]{1,64}", ""),
    ("[[:alnum:]-]+", ""), ("[\\pL\\pN-]+", ""), ("[\\w-]{1,1001}", ""), ("[\\w-]{,64}", ""),
    ("[\\w-]++", ""), ("(?>[\\w-]+)", ""),
    # repetitions and nested quantifiers (linear in RE2, catastrophic in a backtracking engine)
    ("(?:[a-z]+-?)+", ""), ("(?:\\w+|-)*", ""), ("(?:(?:a|aa)+)*[\\w-]*", ""), ("[\\w-]{2,}", ""),
    ("(?:[\\w-]{1,8}){1,8}", ""), ("(?:[\\w-]{1,40}){1,40}", ""), ("[\\p{Lu}\\p{Ll}\\p{Nd}-]+", ""),
    ("[^\\p{Z}\\p{C}:]+", ""), ("(?i:\\p{Ll}+(?:-\\p{L}+)*)", ""),
)  # fmt: skip
SEPARATORS: tuple[Part, ...] = (
    (":", ":"), ("\\.", "."), ("/", "/"), ("\\s*:\\s*", ":"), ("[:.]", ":"), ("::?", ":"), ("\\x3a", ":"),
    ("\\072", ":"), ("\\:", ":"), (":(?i)", ":"), (":(?=\\w)", ":"), ("(?<=\\w):", ":"),
)  # fmt: skip
ROLES: tuple[Part, ...] = (
    ("\\w+", ""), ("[a-z]+", ""), ("read|write|admin|worker", ""), ("(?:read|write|admin|worker)", ""),
    (".*", ""), ("[^:]+", ""), ("\\S+", ""), ("[A-Za-z]+", ""), ("\\w+?", ""),
    ("[[:lower:]]+", ""), ("\\pL+", ""), ("\\p{Ll}+", ""), ("\\w{,10}", ""), ("\\w++", ""),
    ("(?:\\w)+?", ""), ("(?:r|w|a|e|d|i|t|o|k|n)+", ""), ("\\p{L}{2,12}", ""), ("(?:\\pL+)+", ""),
)  # fmt: skip
SUFFIXES: tuple[Part, ...] = (
    ("", ""), ("$", ""), ("(?:@\\w+)?", ""), ("\\b", ""), ("(?:/.*)?$", ""), ("\\s*$", ""),
    ("\\z", ""), ("\\Z", ""), ("(?P=namespace)?", ""),
)  # fmt: skip


@dataclass(frozen=True)
class RegexSpec:
    pattern: str
    prefix: str  # a sample of the text before the first group
    separator: str  # ... between the groups
    suffix: str  # ... after the last group
    role_first: bool = False

    def admin_witness(self) -> str:
        """The string this pattern should read as system admin, if Go and the model agree on it."""
        first, second = ("admin", names.SYSTEM_SCOPE) if self.role_first else (names.SYSTEM_SCOPE, "admin")
        return f"{self.prefix}{first}{self.separator}{second}{self.suffix}"


def group(name: str, body: str, angle: bool) -> str:
    return f"(?<{name}>{body})" if angle else f"(?P<{name}>{body})"


@functools.cache
def weighted(parts: tuple[Part, ...]) -> st.SearchStrategy[Part]:
    """The first part (the plainest) often, any part otherwise: patterns stay mostly familiar."""
    return st.one_of(st.just(parts[0]), st.sampled_from(parts), st.sampled_from(parts))


@st.composite
def regex_specs(draw: st.DrawFn) -> RegexSpec:
    prefix, namespace = draw(weighted(PREFIXES)), draw(weighted(NAMESPACES))
    separator, role, suffix = draw(weighted(SEPARATORS)), draw(weighted(ROLES)), draw(weighted(SUFFIXES))
    angle = draw(st.booleans())
    role_first = draw(st.integers(0, 5)) == 5
    groups = [group("namespace", namespace[0], angle), group("role", role[0], angle)]
    if role_first:
        groups.reverse()
    pattern = f"{prefix[0]}{groups[0]}{separator[0]}{groups[1]}{suffix[0]}"
    variant = draw(VARIANTS)
    if variant == "extra-group":
        pattern = f"({pattern})"
    elif variant == "one-group":
        pattern = f"{prefix[0]}{groups[0]}{separator[0]}({role[0]}){suffix[0]}"
    elif variant == "twice":
        pattern = f"{pattern}|{pattern}"  # the same group names twice
    return RegexSpec(pattern, prefix[1], separator[1], suffix[1], role_first)


VARIANTS = st.sampled_from(("plain",) * 8 + ("extra-group", "one-group", "twice"))
UNICODE_SPACES = ("\u00a0", "\u2003", "\u3000", "\u0085")
UNICODE_WORD = ("\u00e9", "\u0661", "\u00b2", "\u212a", "\u0130")


@st.composite
def permission_strings(draw: st.DrawFn, spec: RegexSpec) -> str:
    """A string near the pattern's language: its parts' samples around namespace and role spellings, with
    Unicode spaces, digits and letters, newlines and junk where RE2 and Python read them differently."""
    return permission_string(draw, spec)


def permission_string(draw: st.DrawFn, spec: RegexSpec) -> str:
    """permission_strings() as a plain function (strategies built once per spec)."""
    parts = _parts(spec)
    namespace = draw(STRING_NAMESPACES)
    role = draw(names.roles())
    separator = draw(parts["separator"])
    if draw(st.integers(0, 2)) == 2:
        separator = draw(ODD) + separator + draw(ODD)
    first, second = (role, namespace) if spec.role_first else (namespace, role)
    prefix = draw(parts["prefix"])
    suffix = draw(parts["suffix"])
    text = f"{prefix}{first}{separator}{second}{suffix}"
    if draw(st.integers(0, 4)) == 4:
        text = draw(ODD) + text
    return text


STRING_NAMESPACES = st.one_of(
    st.sampled_from((names.OWN, names.OTHER, names.SYSTEM_SCOPE)), names.namespaces()
)
ODD = st.sampled_from(("", "\n", " ", *UNICODE_SPACES, *UNICODE_WORD))


@functools.lru_cache(maxsize=4096)
def _parts(spec: RegexSpec) -> dict[str, st.SearchStrategy[str]]:
    return {
        "separator": st.one_of(st.just(spec.separator), st.sampled_from((":", ".", "/", "@", ": "))),
        "prefix": st.one_of(st.just(spec.prefix), st.sampled_from(("", "x", "A.B", "perm:", "urn:"))),
        "suffix": st.one_of(st.just(spec.suffix), ODD, st.sampled_from(("@x", "/x", "x"))),
    }


@functools.lru_cache(maxsize=256)
def permission_lists(spec: RegexSpec) -> st.SearchStrategy[list[str]]:
    return st.lists(permission_strings(spec), min_size=1, max_size=4)


STRING_COUNTS = st.integers(1, 4)


@st.composite
def regex_inputs(draw: st.DrawFn) -> dict[str, object]:
    """A pattern and strings against it, both drawn per example (the fast oracle needs no server per
    pattern): {"regex": ..., "permissions": [...]}, the live class's input."""
    spec = draw(regex_specs())
    strings = [permission_string(draw, spec) for _ in range(draw(STRING_COUNTS))]
    return {"regex": spec.pattern, "permissions": strings}
