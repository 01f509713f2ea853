"""Load a profile: YAML that keeps line numbers, the JSON Schema, then the checks a schema cannot make
(terms exist in the API table, expected differences name real intents). Every error is one line:
`file:line: field: what is wrong`, with the nearest names where a name is unknown."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.api_tables import ApiTableMissing, load_table
from harness.errors import HarnessConfigError
from harness.model.apis import ApiTable
from harness.profiles.groups import UnknownTerm, resolve
from harness.profiles.profile import ExpectedDifference, ExternalKeys, Principal, Profile, Rule
from harness.settings import DEFAULT_VERSION
from harness.types import ServerVersion, VersionError

SCHEMA_PATH = Path(__file__).resolve().parent.parent.parent / "fixtures" / "profiles" / "profile.schema.json"
TIME_CLAIMS = ("exp", "iat", "nbf")
MAX_PROFILE_BYTES = 1 << 20  # a profile is a page of YAML: the cap keeps a wrong file from being parsed
MAX_PROFILE_DEPTH = 64  # a profile nests six levels deep or so
# values, aliases expanded: a profile of a hundred principals holds a few thousand
MAX_PROFILE_VALUES = 50_000
Path_ = tuple[str | int, ...]


class ProfileError(HarnessConfigError):
    """A profile the check cannot use; the message names the file, line and field."""


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


class _Refused(Exception):
    def __init__(self, line: int, what: str) -> None:
        self.line, self.what = line, what


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that keeps a profile a finite tree of bounded size, checked as each node is composed,
    before anything is built from it. An alias is a reference: a few hundred bytes of aliases nesting
    aliases repeat a value millions of times (billion laughs), and `a: &a [*a]` names the value that
    contains it. Aliases are counted at the size of what they repeat (so `<<: *shared` claims still
    work), an alias inside its own anchor is refused, and nesting is bounded (the composer recurses)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.values = 0
        self.open_anchors: set[str] = set()
        self.measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, height), values capped

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.open_anchors:
                raise _Refused(line, f"YAML alias *{event.anchor} is inside the value it names: write it out")
            target = self.anchors.get(event.anchor)
            if target is not None:  # else the composer's own error: undefined alias
                self.count(line, *self.measure(target), alias=True)
            return super().compose_node(parent, index)
        self.count(line, 1, 1)
        anchor = event.anchor if isinstance(event, yaml.NodeEvent) else None
        if anchor is not None:
            self.open_anchors.add(anchor)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1
            self.open_anchors.discard(anchor or "")

    def count(self, line: int, values: int, height: int, alias: bool = False) -> None:
        if self.depth + height > MAX_PROFILE_DEPTH:
            raise _Refused(line, f"the profile nests deeper than {MAX_PROFILE_DEPTH} levels")
        self.values += values
        if self.values > MAX_PROFILE_VALUES and alias:
            raise _Refused(
                line,
                f"YAML aliases repeat values past {MAX_PROFILE_VALUES:,} in all: write the values out "
                "instead of nesting aliases",
            )
        if self.values > MAX_PROFILE_VALUES:
            raise _Refused(line, f"the profile holds more than {MAX_PROFILE_VALUES:,} values")

    def measure(self, root: yaml.Node) -> tuple[int, int]:
        """The values a finished node holds once its aliases are expanded, and its height; each node is
        measured once (post-order with a stack: alias chains can be long)."""
        todo = [(root, False)]
        while todo:
            node, ready = todo.pop()
            if id(node) in self.measured:
                continue
            inner: list[yaml.Node] = []
            if isinstance(node, yaml.SequenceNode):
                inner = list(node.value)
            elif isinstance(node, yaml.MappingNode):
                inner = [part for pair in node.value for part in pair]
            if not ready:
                todo.append((node, True))
                todo.extend((n, False) for n in inner if id(n) not in self.measured)
                continue
            sizes = [self.measured[id(n)] for n in inner]
            values = min(1 + sum(v for v, _ in sizes), MAX_PROFILE_VALUES + 1)
            self.measured[id(node)] = (values, 1 + max((h for _, h in sizes), default=0))
        return self.measured[id(root)]


class _Located:
    """The document and the line of every field in it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines: dict[Path_, int] = {}
        loader = _BoundedLoader(text)
        try:
            node = loader.get_single_node()
            self.data: Any = loader.construct_document(node) if node is not None else None
        except _Refused as exc:
            raise ProfileError(f"{path}:{exc.line}: {exc.what}") from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 0
            raise ProfileError(f"{path}:{line}: not valid YAML: {exc.problem or exc}") from exc
        finally:
            loader.dispose()
        if node is not None:
            self._mark(node, ())

    def _mark(self, node: yaml.Node, at: Path_) -> None:
        self.lines.setdefault(at, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = (*at, str(key.value))
                self.lines[here] = key.start_mark.line + 1
                self._mark(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._mark(item, (*at, i))

    def line(self, at: Sequence[str | int]) -> int:
        at = tuple(at)
        while at and at not in self.lines:
            at = at[:-1]
        return self.lines.get(at, 1)

    def field(self, at: Sequence[str | int]) -> str:
        out = ""
        for i, part in enumerate(at):
            if isinstance(part, int):
                out += f"[{part}]"
                if tuple(at[:i]) == ("principals",):
                    name = _get(self.data, ("principals", part, "name"))
                    out += f" ({name})" if isinstance(name, str) else ""
            else:
                out += f".{part}" if out else part
        return out or "(document)"

    def error(self, at: Sequence[str | int], message: str) -> ProfileError:
        return ProfileError(f"{self.path}:{self.line(at)}: {self.field(at)}: {message}")


def _get(data: Any, at: Sequence[str | int]) -> Any:
    for part in at:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        rules = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = list(rules.get("properties", {}))
        key = next(k for k in error.instance if k not in allowed)
        near = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f"did you mean `{near[0]}`?" if near else f"allowed: {', '.join(allowed)}"
        return f"unknown field `{key}`; {hint}"
    return error.message


def _validate(doc: _Located) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(
        validator.iter_errors(doc.data), key=lambda e: (doc.line(list(e.absolute_path)), e.message)
    )
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise doc.error(_where(first), _schema_message(first) + more)


def _where(error: jsonschema.ValidationError) -> list[str | int]:
    """The error's field; for an unknown key, the key itself (its line is the one to fix)."""
    at = list(error.absolute_path)
    rules = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        unknown = [k for k in error.instance if k not in rules.get("properties", {})]
        at += unknown[:1]
    return at


def _table(doc: _Located, version: str) -> ApiTable:
    try:
        ServerVersion.parse(version)
        return load_table(version if version.startswith("v") else "v" + version)
    except (VersionError, ApiTableMissing) as exc:
        raise doc.error(["server", "version"], str(exc)) from exc


def load_profile(path: Path | str, version: str | None = None) -> Profile:
    """Read and check a profile; `version` overrides the profile's server version."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc.strerror or exc}") from exc
    if len(raw) > MAX_PROFILE_BYTES:
        raise ProfileError(
            f"{path}: the profile is larger than {MAX_PROFILE_BYTES:,} bytes (1 MiB), the most a profile may be"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ProfileError(
            f"{path}:{line}: not UTF-8 text (byte {exc.start}): save the profile as UTF-8"
        ) from None
    doc = _Located(path, text)
    if not isinstance(doc.data, dict):
        raise ProfileError(
            f"{path}:1: the profile must be a YAML mapping (name, server, namespaces, principals)"
        )
    _validate(doc)
    data: dict[str, Any] = doc.data
    server = data.get("server", {})
    chosen = version or server.get("version") or DEFAULT_VERSION
    table = _table(doc, chosen)
    namespaces = tuple(data.get("namespaces", ()))
    principals = tuple(_principal(doc, i, p, namespaces, table) for i, p in enumerate(data["principals"]))
    _unique(doc, principals)
    profile = Profile(
        path=path,
        name=str(data.get("name") or path.stem),
        description=str(data.get("description", "")).strip(),
        version=version or server.get("version"),
        authorization=dict(server.get("authorization", {})),
        permission_format=server.get("permission_format"),
        external=_external(doc, server),
        namespaces=namespaces,
        principals=principals,
        expected=(),
    )
    expected = tuple(_expected(doc, i, e, profile) for i, e in enumerate(data.get("expect_differences", ())))
    return Profile(**{**profile.__dict__, "expected": expected})


def _principal(
    doc: _Located, i: int, raw: Mapping[str, Any], namespaces: tuple[str, ...], table: ApiTable
) -> Principal:
    at: Path_ = ("principals", i)
    for claim in TIME_CLAIMS:
        if claim in raw["claims"]:
            raise doc.error([*at, "claims", claim], "set at minting (iat now, exp in one hour): remove it")
    rules = []
    for effect in ("allow", "deny"):
        for j, rule in enumerate(raw.get(effect, ())):
            for k, term in enumerate(rule["groups"]):
                try:
                    resolve(term, table)
                except UnknownTerm as exc:
                    raise doc.error([*at, effect, j, "groups", k], str(exc)) from exc
            if not rule.get("namespaces") and not namespaces:
                raise doc.error(
                    [*at, effect, j], "names no namespaces, and the profile has no `namespaces` list"
                )
            rules.append(Rule(effect == "allow", tuple(rule["groups"]), tuple(rule.get("namespaces", ()))))
    if not rules:
        raise doc.error(list(at), "has no allow or deny rules: nothing to check")
    return Principal(
        raw["name"], dict(raw["claims"]), tuple(rules), raw.get("alg", "RS256"), raw.get("note", "")
    )


def _unique(doc: _Located, principals: Sequence[Principal]) -> None:
    seen: set[str] = set()
    for i, principal in enumerate(principals):
        if principal.name in seen:
            raise doc.error(["principals", i, "name"], f"`{principal.name}` is named twice")
        seen.add(principal.name)


def _external(doc: _Located, server: Mapping[str, Any]) -> ExternalKeys | None:
    if "target" not in server:
        return None
    base = doc.path.parent
    key = base / server["signing_key"]
    if not key.is_file():
        raise doc.error(["server", "signing_key"], f"no such file: {key}")
    ca = base / server["ca"] if server.get("ca") else None
    return ExternalKeys(
        server["target"],
        key,
        server["kid"],
        bool(server.get("tls", False)),
        ca,
        server.get("server_name", ""),
    )


def _expected(doc: _Located, i: int, raw: Mapping[str, Any], profile: Profile) -> ExpectedDifference:
    at: Path_ = ("expect_differences", i)
    names = [p.name for p in profile.principals]
    principal = next((p for p in profile.principals if p.name == raw["principal"]), None)
    if principal is None:
        near = difflib.get_close_matches(raw["principal"], names, n=2, cutoff=0.5)
        hint = (
            f"; did you mean {', '.join(f'`{n}`' for n in near)}?"
            if near
            else f"; principals: {', '.join(names)}"
        )
        raise doc.error([*at, "principal"], f"no principal `{raw['principal']}`{hint}")
    # A server that denies differs from an allow rule; one that allows, from a deny rule.
    rules = [r for r in principal.rules if r.allow == (raw["server"] == "denies")]
    terms = list(dict.fromkeys(t for r in rules for t in r.terms))
    if raw["intent"] not in terms:
        kind = "allow" if raw["server"] == "denies" else "deny"
        near = difflib.get_close_matches(raw["intent"], terms, n=2, cutoff=0.5)
        hint = (
            f"did you mean {', '.join(f'`{n}`' for n in near)}?"
            if near
            else f"its {kind} rules name: {', '.join(terms) or 'nothing'}"
        )
        raise doc.error(
            [*at, "intent"], f"`{principal.name}` has no {kind} rule for `{raw['intent']}`; {hint}"
        )
    namespace = raw.get("namespace")
    if namespace is not None:
        covered = {n for r in rules if raw["intent"] in r.terms for n in (r.namespaces or profile.namespaces)}
        if namespace not in covered:
            raise doc.error(
                [*at, "namespace"],
                f"the rule for `{raw['intent']}` covers {', '.join(sorted(covered))}, not `{namespace}`",
            )
    return ExpectedDifference(
        principal.name,
        raw["intent"],
        namespace,
        raw["server"],
        raw["because"].strip(),
        f"{doc.path}:{doc.line(list(at))}",
    )
