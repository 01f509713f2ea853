"""report.html: one offline file a person can read (verdict, findings, graded verdicts, the grid by access
class, evidence per cell and per test), rendered with Jinja2 from conformance.json."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from harness.atomic import write_text_atomic
from harness.report.formatting import script_json
from harness.report.report_view import build_view

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> Environment:
    """The one Jinja environment of the reports (report.html and the gate's diff): autoescaped."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def asset(name: str) -> Markup:
    """A stylesheet or script from templates/, inlined as it is: the page loads nothing from anywhere."""
    return Markup((TEMPLATES / name).read_text())


def render_html(data: dict[str, Any]) -> str:
    view = build_view(data)
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            v=view, css=asset("report.css"), js=asset("report.js"), evidence_json=script_json(view.evidence)
        )
    )


def write_html(data: dict[str, Any], path: Path) -> Path:
    write_text_atomic(path, render_html(data))
    return path
