"""Values as a person reads them: numbers with units, lists summarised, never a Python repr."""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup

_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")  # no dots: an anchor is also a CSS id selector
_SLUG_MAX = 120


def metric_label(name: str) -> str:
    """server_start_to_ready_s -> 'server start to ready'; grid_cells_per_s -> 'grid cells per second';
    grid_wall_s -> 'grid wall-clock time'."""
    if name.endswith("_per_s"):
        name = name.removesuffix("_per_s") + "_per_second"
    elif name.endswith("_s"):
        name = name.removesuffix("_s")
    label = name.replace("_", " ")
    return label.removesuffix(" wall") + " wall-clock time" if label.endswith(" wall") else label


def metric_unit(name: str) -> str:
    """Seconds for a name ending in _s (but not a rate, _per_s, which reads as 'per second')."""
    return "s" if name.endswith("_s") and not name.endswith("_per_s") else ""


def number(value: float | int) -> str:
    """1234 -> '1,234'; 2807.2 -> '2,807.2'; 0.51700 -> '0.517' (three decimals at most)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def seconds(value: float) -> str:
    """0.0005 -> '0.5 ms'; 1.73 -> '1.73 s'; 211.4 -> '3 min 31 s'."""
    if value < 1:
        return f"{number(round(value * 1000, 1))} ms"
    if value < 120:
        return f"{number(round(value, 2))} s"
    minutes, rest = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def with_unit(value: float | int, unit: str) -> str:
    if unit == "s":
        return seconds(float(value))
    return f"{number(value)}{' ' + unit if unit else ''}"


def samples(values: list[float | int], unit: str) -> str:
    """A list of measurements: how many, and min / median / max."""
    if len(values) == 1:
        return with_unit(values[0], unit)
    low, mid, high = min(values), statistics.median(values), max(values)
    return (
        f"{len(values)} samples: min {with_unit(low, unit)}, median {with_unit(mid, unit)}, "
        f"max {with_unit(high, unit)}"
    )


def plain(value: Any, unit: str = "") -> str:
    """Any JSON value as one readable line."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return with_unit(value, unit)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if value and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return samples(value, unit)
        return ", ".join(plain(v) for v in value) if value else "none"
    if isinstance(value, dict):
        if not value:
            return "none"
        return ", ".join(f"{k.replace('_', ' ')} {plain(v, metric_unit(str(k)))}" for k, v in value.items())
    return json.dumps(value, default=str)


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, readable value) per metric, in the run's order."""
    return [(metric_label(name), plain(value, metric_unit(name))) for name, value in metrics.items()]


def anchor_ids(nodeids: Iterable[str]) -> list[str]:
    """One HTML id per test, stable across runs (from the node id), unique within the report."""
    anchors: list[str] = []
    seen: set[str] = set()
    for nodeid in nodeids:
        slug = _SLUG_UNSAFE.sub("-", nodeid.removeprefix("suites/")).strip("-") or "test"
        if len(slug) > _SLUG_MAX:
            slug = f"{slug[:_SLUG_MAX]}-{hashlib.sha1(nodeid.encode()).hexdigest()[:8]}"
        anchor, n = f"test-{slug}", 2
        while anchor in seen:
            anchor, n = f"test-{slug}-{n}", n + 1
        seen.add(anchor)
        anchors.append(anchor)
    return anchors


def script_json(value: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' can close the element."""
    text = json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)
