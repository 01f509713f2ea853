"""The closed catalogue of requirement IDs (fixtures/requirements.yaml), loaded and checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

CATALOGUE = Path(__file__).resolve().parent.parent / "fixtures" / "requirements.yaml"
ID_PATTERN = re.compile(r"^AUTHZ-[A-Z]+-\d{3}$")


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    source: str
    doc: str = ""
    doc_claim: str = ""
    finding: str = ""  # what the server does instead, when this run observes it
    status: str = "active"

    @property
    def area(self) -> str:
        return self.id.split("-")[1]

    @property
    def is_finding(self) -> bool:
        """A requirement about behaviour a public doc (or users) state otherwise: when this run observes
        the server doing what `finding` says, the report lists it."""
        return bool(self.finding)


class _UniqueKeyLoader(yaml.SafeLoader):
    """An ID written twice would silently shadow the first: refuse it."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise CatalogueError(f"{key}: listed twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_catalogue(text: str) -> dict[str, Requirement]:
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as exc:
        raise CatalogueError(f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogueError("the catalogue must be a mapping of ID -> entry")
    catalogue: dict[str, Requirement] = {}
    for rid, entry in raw.items():
        if not ID_PATTERN.match(str(rid)):
            raise CatalogueError(f"{rid}: IDs look like AUTHZ-AREA-NNN")
        if not isinstance(entry, dict) or not entry.get("title") or not entry.get("source"):
            raise CatalogueError(f"{rid}: needs a title and a source")
        unknown = set(entry) - {"title", "source", "doc", "doc_claim", "finding", "status"}
        if unknown:
            raise CatalogueError(f"{rid}: unknown fields {sorted(unknown)}")
        if not (bool(entry.get("doc")) == bool(entry.get("doc_claim")) == bool(entry.get("finding"))):
            raise CatalogueError(f"{rid}: `doc`, `doc_claim` and `finding` go together")
        if entry.get("status", "active") not in ("active", "retired"):
            raise CatalogueError(f"{rid}: status is active or retired")
        catalogue[rid] = Requirement(id=rid, **{k: str(v) for k, v in entry.items()})
    return catalogue


@cache
def load_catalogue(path: Path = CATALOGUE) -> dict[str, Requirement]:
    return parse_catalogue(path.read_text())
