"""The closed catalogues of security properties (fixtures/properties.yaml) and published advisories
(fixtures/advisories.yaml), loaded and checked against each other."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness.requirements import CatalogueError, _UniqueKeyLoader
from harness.types import ServerVersion

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
PROPERTIES = FIXTURES / "properties.yaml"
ADVISORIES = FIXTURES / "advisories.yaml"
PROPERTY_ID = re.compile(r"^SEC-P\d+$")
PATH_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
ADVISORY_ID = re.compile(r"^(CVE-\d{4}-\d+|GHSA(-[a-z0-9]{4}){3})$")


@dataclass(frozen=True)
class PropertyPath:
    prop: str  # the property's ID (SEC-P2)
    name: str
    title: str
    exists: str

    @property
    def id(self) -> str:
        return f"{self.prop}/{self.name}"


@dataclass(frozen=True)
class Property:
    id: str
    title: str
    why: str
    paths: Mapping[str, PropertyPath]


@dataclass(frozen=True)
class Advisory:
    id: str
    title: str
    lets: str
    severity: str
    published: str
    url: str
    aliases: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    stated: Mapping[str, Any] = field(default_factory=dict)
    fixed_in: Mapping[str, str] = field(default_factory=dict)  # line -> first release with the fix
    fixed_with_knob: Mapping[str, str] = field(default_factory=dict)  # line -> first release with a knob
    model_fix: str = ""
    config: str = ""
    cases: tuple[str, ...] = ()  # property path IDs ("SEC-P2/batch-forged")
    not_reproduced: str = ""

    @property
    def names(self) -> str:
        return " / ".join((self.id, *self.aliases))

    def fix_for(self, version: ServerVersion) -> str:
        """Where a run on `version` finds the fix, as a person reads it: "fixed in v1.31.2"."""
        line = version.line
        if line in self.fixed_in:
            return f"fixed in {self.fixed_in[line]}"
        if line in self.fixed_with_knob:
            return (
                f"{self.fixed_with_knob[line]} carries the fix behind a setting that is off by default; "
                f"fixed by default in {self._next_line_fix(version) or 'a later line'}"
            )
        later = self._next_line_fix(version)
        return f"no fix in the {line} line; fixed in {later}" if later else f"no fix in the {line} line"

    def _next_line_fix(self, version: ServerVersion) -> str:
        later = sorted((ServerVersion.parse(v) for v in self.fixed_in.values()), key=lambda v: v.parts)
        found = [v for v in later if (v.major, v.minor) > (version.major, version.minor)]
        return str(found[0]) if found else ""


def _load(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path.name}: must be a mapping of ID -> entry")
    return raw


def parse_properties(raw: Mapping[str, Any]) -> dict[str, Property]:
    found: dict[str, Property] = {}
    for pid, entry in raw.items():
        if not PROPERTY_ID.match(str(pid)):
            raise CatalogueError(f"{pid}: property IDs look like SEC-P1")
        if not isinstance(entry, dict) or not entry.get("title") or not entry.get("paths"):
            raise CatalogueError(f"{pid}: needs a title and paths")
        unknown = set(entry) - {"title", "why", "paths"}
        if unknown:
            raise CatalogueError(f"{pid}: unknown fields {sorted(unknown)}")
        paths = {}
        for name, path in entry["paths"].items():
            if not PATH_NAME.match(str(name)) or not isinstance(path, dict) or not path.get("title"):
                raise CatalogueError(f"{pid}/{name}: a path is a lower-case name with a title")
            paths[str(name)] = PropertyPath(
                str(pid), str(name), str(path["title"]), str(path.get("exists", ""))
            )
        found[str(pid)] = Property(str(pid), str(entry["title"]), str(entry.get("why", "")), paths)
    return found


_ADVISORY_FIELDS = {
    "aliases", "title", "lets", "severity", "published", "url", "fix", "stated", "fixed_in",
    "fixed_with_knob", "model_fix", "config", "cases", "not_reproduced",
}  # fmt: skip


def parse_advisories(raw: Mapping[str, Any], properties: Mapping[str, Property]) -> dict[str, Advisory]:
    paths = {p.id for prop in properties.values() for p in prop.paths.values()}
    found: dict[str, Advisory] = {}
    for aid, entry in raw.items():
        if not ADVISORY_ID.match(str(aid)):
            raise CatalogueError(f"{aid}: advisories are named by their CVE (or GHSA) ID")
        if not isinstance(entry, dict) or not entry.get("title") or not entry.get("lets"):
            raise CatalogueError(f"{aid}: needs a title and what it `lets` whom do")
        unknown = set(entry) - _ADVISORY_FIELDS
        if unknown:
            raise CatalogueError(f"{aid}: unknown fields {sorted(unknown)}")
        cases = tuple(str(c) for c in entry.get("cases") or ())
        if bad := [c for c in cases if c not in paths]:
            raise CatalogueError(f"{aid}: cases {bad} are not property paths of fixtures/properties.yaml")
        if not cases and not entry.get("not_reproduced"):
            raise CatalogueError(f"{aid}: no case reproduces it: say why under not_reproduced")
        for line, release in {
            **(entry.get("fixed_in") or {}),
            **(entry.get("fixed_with_knob") or {}),
        }.items():
            version = ServerVersion.parse(str(release))
            if version.line != str(line):
                raise CatalogueError(f"{aid}: fixed_in {line}: {release} is not a release of that line")
        found[str(aid)] = Advisory(
            id=str(aid),
            title=str(entry["title"]),
            lets=str(entry["lets"]),
            severity=str(entry.get("severity", "")),
            published=str(entry.get("published", "")),
            url=str(entry.get("url", "")),
            aliases=tuple(str(a) for a in entry.get("aliases") or ()),
            fix=tuple(str(f) for f in entry.get("fix") or ()),
            stated=dict(entry.get("stated") or {}),
            fixed_in={str(k): str(v) for k, v in (entry.get("fixed_in") or {}).items()},
            fixed_with_knob={str(k): str(v) for k, v in (entry.get("fixed_with_knob") or {}).items()},
            model_fix=str(entry.get("model_fix", "")),
            config=str(entry.get("config", "")),
            cases=cases,
            not_reproduced=str(entry.get("not_reproduced", "")),
        )
    return found


@cache
def load_properties(path: Path = PROPERTIES) -> dict[str, Property]:
    return parse_properties(_load(path))


@cache
def load_advisories(path: Path = ADVISORIES) -> dict[str, Advisory]:
    return parse_advisories(_load(path), load_properties())


def path_of(path_id: str) -> PropertyPath:
    prop, _, name = path_id.partition("/")
    found = load_properties().get(prop)
    if found is None or name not in found.paths:
        raise CatalogueError(f"{path_id}: not a property path of fixtures/properties.yaml")
    return found.paths[name]
