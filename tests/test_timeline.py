"""The key timeline: which rings a server can hold while a probe runs, from the fixtures' fetch logs.
Fetches here are real HTTP requests to real fixtures, made the way the server's ticker makes them."""

from __future__ import annotations

import time
import urllib.request

from harness.jwks.fixture import JwksServer
from harness.jwks.timeline import BlankSource, DeadSource, FetchedKeys, FixtureSource
from harness.model.claims import KeyRing
from harness.tokens.keys import rsa_key

A, B = rsa_key(kid="a"), rsa_key(kid="b")


def fetch(source: FixtureSource) -> None:
    with urllib.request.urlopen(source.url, timeout=5) as response:
        response.read()


def ring(*keys: object) -> KeyRing:
    return KeyRing(tuple(k.published() for k in keys))  # type: ignore[attr-defined]


def test_rings_before_during_and_after_a_round() -> None:
    with JwksServer() as jwks:
        source = FixtureSource(jwks, client="s1")
        timeline = FetchedKeys([source], started=time.monotonic())
        jwks.publish(A)
        fetch(source)  # the initial fetch, at startup
        timeline.ready_at = time.monotonic()
        rings, settled = timeline.rings_during(time.monotonic(), time.monotonic())
        assert rings == (ring(A),) and settled

        jwks.publish(B)
        probe_start = time.monotonic()
        fetch(source)  # a refresh lands while a probe runs: either ring is possible
        rings, settled = timeline.rings_during(probe_start, time.monotonic())
        assert set(rings) == {ring(A), ring(A, B)} and not settled

        fetch(source)  # the next round was asked for: the one before is surely applied
        rings, settled = timeline.rings_during(time.monotonic(), time.monotonic())
        assert rings == (ring(A, B),) and settled


def test_other_servers_fetches_do_not_count() -> None:
    with JwksServer() as jwks:
        mine, theirs = FixtureSource(jwks, client="mine"), FixtureSource(jwks, client="theirs")
        timeline = FetchedKeys([mine], started=time.monotonic())
        jwks.publish(A)
        fetch(theirs)
        timeline.ready_at = now = time.monotonic()
        assert timeline.rings_during(now, now) == ((KeyRing(),), True)


def test_a_failing_source_fails_the_round_and_a_blank_one_is_skipped() -> None:
    with JwksServer() as good, JwksServer() as gone:
        gone.stop_listening()
        source = FixtureSource(good, client="x")
        good.publish(A)
        failing = FetchedKeys([source, DeadSource(gone.url())], started=time.monotonic())
        blank = FetchedKeys([BlankSource(" "), source], started=time.monotonic())
        fetch(source)
        failing.ready_at = blank.ready_at = time.monotonic()
        now = time.monotonic()
        assert failing.rings_during(now, now)[0] == (KeyRing(),)  # the healthy source's keys are not kept
        assert blank.rings_during(now, now)[0] == (ring(A),)
