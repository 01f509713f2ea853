"""The JWKS fixture over real HTTP: key sets, faults, outages and the fetch log."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import pytest

from harness.jwks.fixture import Fault, Fetch, FetchTimeout, JwksServer
from harness.tokens.keys import ec_key, rsa_key


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_publish_retire_and_log() -> None:
    a, b = rsa_key(kid="a"), ec_key(kid="b")
    with JwksServer() as jwks:
        assert jwks.url().startswith("http://127.0.0.1:")
        jwks.publish(a, b)
        status, body = get(jwks.url())
        assert status == 200
        kids = [k["kid"] for k in json.loads(body)["keys"]]
        assert kids == ["a", "b"]
        jwks.retire(a)
        assert [k["kid"] for k in json.loads(get(jwks.url())[1])["keys"]] == ["b"]
        fetches = jwks.fetches()
        assert [f.kids for f in fetches] == [("a", "b"), ("b",)]
        assert all(f.status == 200 for f in fetches)
        assert "GET /jwks.json -> 200 kids=b" in jwks.log_lines()[-1]


def test_faults_and_other_paths() -> None:
    with JwksServer() as jwks:
        jwks.publish(rsa_key(kid="x"))
        with jwks.fault(Fault(status=500, body=b"oops", name="http-500")):
            assert get(jwks.url()) == (500, b"oops")
        assert get(jwks.url())[0] == 200
        jwks.set_fault(Fault(status=404, body=b'{"keys": []}', name="empty-404"))
        assert get(jwks.url()) == (404, b'{"keys": []}')
        jwks.set_fault(None)
        assert get(jwks.url("/nothing"))[0] == 404
        jwks.replace([], path="/second.json", extra_jwks=[{"kty": "oct", "k": "AAAA", "kid": "sym"}])
        assert json.loads(get(jwks.url("/second.json"))[1])["keys"][0]["kty"] == "oct"
        assert jwks.fetches()[0].fault == "http-500"


def test_slow_fault_is_logged_when_answered_and_asked_when_it_arrived() -> None:
    with JwksServer() as jwks, jwks.fault(Fault(delay=0.3, name="slow")):
        mark = time.monotonic()
        get(jwks.url(client="s9"))
        fetch = jwks.fetches(client="s9")[0]
        assert fetch.fault == "slow" and fetch.asked > mark and fetch.answered >= fetch.asked
        assert jwks.wait_for_requests(1, after=mark, deadline=1, client="s9") == 1


def test_fetches_are_told_apart_by_server_and_keep_the_exact_bytes() -> None:
    with JwksServer() as jwks:
        jwks.publish(rsa_key(kid="k"))
        status, body = get(jwks.url(client="s1"))
        get(jwks.url(client="s2"))
        [mine] = jwks.fetches(client="s1")
        assert mine.body == body and mine.status == status == 200 and mine.client == "s1"
        assert "?server=s1" in jwks.log_lines()[0]


def test_outage_on_the_same_port_and_wait_for_fetches() -> None:
    with JwksServer() as jwks:
        port = jwks.port
        mark_down = time.monotonic()
        jwks.stop_listening()
        assert not jwks.listening
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(jwks.url(), timeout=2)
        jwks.resume_listening()
        assert jwks.port == port
        now = time.monotonic()
        assert jwks.down_between(mark_down, now) and not jwks.down_between(now + 1, now + 2)
        mark = time.monotonic()
        get(jwks.url())
        assert len(jwks.wait_for_fetches(1, after=mark, deadline=2)) == 1
        with pytest.raises(FetchTimeout, match="refreshInterval"):
            jwks.wait_for_fetches(5, after=mark, deadline=0.2)


def test_the_async_waits_wake_on_a_later_fetch_and_name_what_is_missing() -> None:
    """fetched/requested are the blocking waits off the event loop (the fetch is made while the loop runs
    them), and each names what did not come."""

    async def wait_then_fetch(jwks: JwksServer, mark: float) -> tuple[list[Fetch], int]:
        waiting = asyncio.ensure_future(jwks.fetched(1, after=mark, deadline=10, client="late"))
        asked = asyncio.ensure_future(jwks.requested(1, after=mark, deadline=10, client="late"))
        await asyncio.to_thread(get, jwks.url(client="late"))
        return await waiting, await asked

    with JwksServer() as jwks:
        mark = time.monotonic()
        fetches, requests = asyncio.run(wait_then_fetch(jwks, mark))
        assert [f.client for f in fetches] == ["late"] and requests == 1
        with pytest.raises(FetchTimeout, match=r"0 of 1 requests .* did not ask for its keys"):
            asyncio.run(jwks.requested(1, after=time.monotonic(), deadline=0.2))
        with pytest.raises(FetchTimeout, match="1 of 2 fetches"):
            asyncio.run(jwks.fetched(2, after=mark, deadline=0.2))
