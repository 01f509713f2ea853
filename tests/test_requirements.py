"""The requirement catalogue: well-formed, closed, and every active ID has a test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.requirements import CatalogueError, load_catalogue, parse_catalogue

ROOT = Path(__file__).resolve().parent.parent


def test_catalogue_loads() -> None:
    catalogue = load_catalogue()
    assert len(catalogue) > 10
    findings = [r for r in catalogue.values() if r.is_finding]
    assert findings and all(r.doc for r in findings)


def test_every_active_requirement_has_a_test_and_every_test_a_requirement() -> None:
    used = set()
    for path in (ROOT / "suites").glob("test_*.py"):
        used |= set(re.findall(r'"(AUTHZ-[A-Z]+-\d{3})"', path.read_text()))
    active = {rid for rid, r in load_catalogue().items() if r.status == "active"}
    assert sorted(active - used) == [], "active requirements without a test"
    assert sorted(used - set(load_catalogue())) == [], "tests naming unknown requirements"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("AUTHZ-X-001: {title: a, source: b}\nAUTHZ-X-001: {title: c, source: d}\n", "twice"),
        ("BAD-1: {title: a, source: b}\n", "AUTHZ-AREA-NNN"),
        ("AUTHZ-X-001: {title: a}\n", "title and a source"),
        ("AUTHZ-X-001: {title: a, source: b, doc: c}\n", "go together"),
        ("AUTHZ-X-001: {title: a, source: b, colour: red}\n", "unknown fields"),
        ("AUTHZ-X-001: {title: a: b}\n", "YAML"),
    ],
)
def test_bad_catalogues_are_refused(text: str, error: str) -> None:
    with pytest.raises(CatalogueError, match=error):
        parse_catalogue(text)
