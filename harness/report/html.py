"""report.html: one offline file a person can read: summary, findings, the grid, failures."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Temporal authz conformance: {{ server.version }} ({{ server.backend }})</title>
<style>
 body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
 h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
 table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ddd;padding:2px 6px}
 th{background:#f4f4f4;position:sticky;top:0} .grid td{text-align:center;font:12px monospace}
 .grid th.rot{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
 .A{background:#d9f2d9} .D{background:#f6dada} .X{background:#eee;color:#888} .FAIL{outline:3px solid #c00}
 .PASS{color:#060} .FAILtxt{color:#c00;font-weight:bold} .KNOWN{color:#a60} .SKIP{color:#666}
 .HARNESS_ERROR{color:#80c} pre{background:#f7f7f7;padding:.6em;overflow:auto;max-width:100%}
 .kv td:first-child{font-weight:bold}
</style></head><body>
<h1>Temporal JWT authorization conformance</h1>
<table class="kv">
<tr><td>server</td><td>{{ server.version }} (era {{ server.era }}) on the <b>{{ server.backend }}</b> backend</td></tr>
<tr><td>run</td><td>{{ run.started_at }} &ndash; {{ run.finished_at }} ({{ run.duration_s }} s), exit {{ run.exit_status }}</td></tr>
<tr><td>verdicts</td><td>{% for k in ['PASS','FAIL','KNOWN','SKIP','HARNESS_ERROR'] %}<span class="{{ 'FAILtxt' if k=='FAIL' else k }}">{{ k }} {{ summary[k] }}</span>{{ ', ' if not loop.last }}{% endfor %} of {{ summary.total }}</td></tr>
{% for k, v in metrics.items() %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}
</table>

<h2>Findings: where the server differs from public docs or what users expect</h2>
{% if findings %}<table><tr><th>requirement</th><th>the doc says (or users expect)</th><th>the server does</th><th>where</th><th>status</th></tr>
{% for f in findings %}<tr><td>{{ f.requirement }}</td><td>{{ f.doc_claim }}</td><td>{{ f.finding }}</td><td>{{ f.doc }}</td><td>{{ f.status }}</td></tr>{% endfor %}
</table>{% else %}<p>none in this run</p>{% endif %}

{% for column, rows in grids.items() %}
<h2>Authorization grid: probe namespace = {{ column }}</h2>
<p>A = allowed, D = denied (PERMISSION_DENIED "Request unauthorized."), - = absent on this server; a red frame marks a cell where the server and the model disagree.</p>
<table class="grid"><tr><th>API</th>{% for s in shapes %}<th class="rot">{{ s }}</th>{% endfor %}</tr>
{% for api, cells in rows %}<tr><td style="text-align:left">{{ api }}</td>{% for s in shapes %}{% set c = cells.get(s) %}{% if c %}<td class="{{ c.cls }} {{ 'FAIL' if c.verdict == 'FAIL' }}" title="expected {{ c.expected }}, observed {{ c.observed }} ({{ c.status }})">{{ c.letter }}</td>{% else %}<td></td>{% endif %}{% endfor %}</tr>
{% endfor %}</table>
{% endfor %}

<h2>Failures and harness errors</h2>
{% set bad = tests | selectattr('verdict', 'in', ['FAIL', 'HARNESS_ERROR']) | list %}
{% if bad %}{% for t in bad %}<h3 class="FAILtxt">{{ t.verdict }} {{ t.requirement }} {{ t.nodeid }}</h3>
<pre>{{ t.get('evidence', {}) | tojson(indent=1) }}</pre><pre>{{ t.message }}</pre>{% endfor %}{% else %}<p>none</p>{% endif %}

<h2>All requirements</h2>
<table><tr><th>requirement</th><th>tests</th><th>verdicts</th></tr>
{% for rid, v in by_req.items() %}<tr><td>{{ rid }}</td><td>{{ v.n }}</td><td>{{ v.verdicts }}</td></tr>{% endfor %}
</table>
</body></html>
"""


def _grids(data: dict[str, Any]) -> tuple[list[str], dict[str, list[tuple[str, dict[str, Any]]]]]:
    shapes: list[str] = []
    columns: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    for cell in data.get("grid", []):
        if cell["token_shape"] not in shapes:
            shapes.append(cell["token_shape"])
        observed = cell.get("observed", "")
        letter = {"ALLOWED": "A", "DENIED": "D"}.get(observed, "-")
        columns[cell["namespace_column"]][cell["api"]][cell["token_shape"]] = {
            **cell,
            "letter": letter,
            "cls": {"A": "A", "D": "D"}.get(letter, "X"),
        }
    grids = {col: sorted(rows.items()) for col, rows in columns.items()}
    return shapes, grids


def render_html(data: dict[str, Any]) -> str:
    env = Environment(autoescape=select_autoescape(default=True))
    shapes, grids = _grids(data)
    by_req: dict[str, dict[str, Any]] = {}
    for t in data.get("tests", []):
        entry = by_req.setdefault(t["requirement"], {"n": 0, "verdicts": defaultdict(int)})
        entry["n"] += 1
        entry["verdicts"][t["verdict"]] += 1
    for entry in by_req.values():
        entry["verdicts"] = ", ".join(f"{k} {v}" for k, v in sorted(entry["verdicts"].items()))
    return env.from_string(_TEMPLATE).render(
        **data, shapes=shapes, grids=grids, by_req=dict(sorted(by_req.items()))
    )


def write_html(data: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data))
    return path
