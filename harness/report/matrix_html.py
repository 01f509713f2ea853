"""The version matrix as one offline page (index.html), rendered from matrix.json alone, in report.html's
style: runs, requirement grades per version, the grid by access class, changes between adjacent versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.atomic import write_text_atomic
from harness.report.grades import Grade
from harness.report.html import asset, environment


def render_matrix_html(matrix: dict[str, Any]) -> str:
    return (
        environment()
        .get_template("matrix.html.j2")
        .render(m=matrix, grades={g.value: g for g in Grade}, css=asset("report.css"))
    )


def write_matrix_html(matrix: dict[str, Any], path: Path) -> Path:
    write_text_atomic(path, render_matrix_html(matrix))
    return path
