"""Draw a few values of a strategy outside a test: what a run fixes before fuzzing (its patterns, each a
server). Hypothesis's own generation, so the values are as varied as in a test; derandomized in the CI
profile, so a CI run always draws the same ones."""

from __future__ import annotations

from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

T = TypeVar("T")


def draw_examples(strategy: st.SearchStrategy[T], count: int, *, derandomize: bool) -> list[T]:
    found: list[T] = []

    @settings(
        max_examples=count * 20,
        derandomize=derandomize,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(value: Any) -> None:
        if value not in found and len(found) < count:
            found.append(value)

    collect()
    return found
