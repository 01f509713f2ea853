"""Which keys a server holds, and when: its key sources and the fixture's fetch log, fed to the model.

The server's key provider refreshes in rounds (one ticker goroutine): each round fetches every
keySourceURI in order and swaps the new keys in whole, or keeps the old ones if anything failed. A
round that was asked for after another one proves the earlier one is applied; a round answered after a
probe began may or may not be applied by the time the probe was authorized. So for a probe that ran
during [start, end], the model gets every ring the server could have held then; a suite compares only
where they all agree (and probes again once the keys have settled where they do not).

Everything here is what the harness served and when: never what a probe observed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import mutants
from harness.jwks.fixture import DEFAULT_PATH, Fetch, JwksServer
from harness.model import keyset
from harness.model.claims import KeyRing, PublishedKey
from harness.model.keyset import SourceAnswer
from harness.model.rules import NEWEST, JoseDialect


@dataclass(frozen=True)
class FixtureSource:
    """A keySourceURI served by a harness fixture; `client` tells this server's fetches apart."""

    fixture: JwksServer
    path: str = DEFAULT_PATH
    client: str = ""

    @property
    def url(self) -> str:
        return self.fixture.url(self.path, self.client)

    def fetches(self) -> list[Fetch]:
        return self.fixture.fetches(self.path, self.client)


@dataclass(frozen=True)
class DeadSource:
    """A keySourceURI where nothing listens: every fetch of it fails."""

    url: str


@dataclass(frozen=True)
class BlankSource:
    """A blank keySourceURI ("", "  "): what the server makes of it is the model's to say."""

    url: str = ""


class JwksFile:
    """A key set in a file (a `file://` keySourceURI), written by the harness; every write is kept with
    its time, because the server reads the file at each refresh and says nothing about when."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.history: list[tuple[float, bytes]] = []

    def write(self, body: bytes) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(body)
        temporary.replace(self.path)  # atomic: a read sees the old or the new set, never half of one
        self.history.append((time.monotonic(), body))

    def contents_during(self, start: float, end: float) -> list[bytes]:
        """Every content a read in [start, end] may have seen."""
        before = [body for at, body in self.history if at <= start]
        during = [body for at, body in self.history if start < at <= end]
        return ([before[-1]] if before else [b""]) + during


@dataclass(frozen=True)
class FileSource:
    """A `file://` keySourceURI; rounds are marked by a fixture source the server fetches just before it."""

    file: JwksFile
    uri: str  # file:///path (or file://otherhost/path, which the server must refuse)

    @property
    def url(self) -> str:
        return self.uri


Source = FixtureSource | DeadSource | BlankSource | FileSource


@dataclass(frozen=True)
class Round:
    asked: float  # monotonic: the first source was asked for (every earlier round is applied by now)
    done: float  # monotonic: the last answer of the round arrived (it may be applied from now on)
    # What the sources answered, one tuple per possibility (several where a file changed while the round
    # may have been reading it).
    options: tuple[tuple[SourceAnswer, ...], ...]


class KeyTimeline:
    """The key rings one server can hold over time."""

    def rings_during(self, start: float, end: float) -> tuple[tuple[KeyRing, ...], bool]:
        """Every ring the server could hold while a probe ran during [start, end] (monotonic), and
        whether the keys were settled (one candidate only)."""
        raise NotImplementedError

    async def settle(self, deadline: float) -> None:
        """Wait until every change served so far is applied (a no-op where keys never change)."""

    def describe(self) -> list[str]:
        return []


@dataclass
class StaticKeys(KeyTimeline):
    """Keys the server trusts that the harness does not serve (an external cluster's own IdP)."""

    keys: tuple[PublishedKey, ...]

    def rings_during(self, start: float, end: float) -> tuple[tuple[KeyRing, ...], bool]:
        return (KeyRing(self.keys),), True

    def describe(self) -> list[str]:
        return [f"static: {k.kty}:{k.kid}" for k in self.keys]


@dataclass
class FetchedKeys(KeyTimeline):
    """Keys a server fetches from its keySourceURIs, as the fixtures logged them."""

    sources: Sequence[Source]
    started: float  # monotonic, just before the server process started: earlier fetches are not its own
    ready_at: float | None = None  # monotonic, when the server answered its health check
    file_uris: bool = True  # whether this server version has file:// key sources (ServerRules)
    jose: JoseDialect = NEWEST  # the release's go-jose (ServerRules.jose)
    _cache: tuple[int, list[Round], list[frozenset[KeyRing]]] | None = field(default=None, repr=False)
    _rounds: tuple[tuple[int, ...], list[Round]] | None = field(default=None, repr=False)

    def _asked(self) -> list[Source]:
        """The sources the server asks for, in order (the model says which URIs it skips)."""
        return [s for s in self.sources if not (isinstance(s, BlankSource) and keyset.skips(s.url))]

    def _first(self) -> FixtureSource | None:
        asked = self._asked()
        first = asked[0] if asked else None
        return first if isinstance(first, FixtureSource) else None

    def rounds(self) -> list[Round]:
        revision = (
            *(s.fixture.revision for s in self.sources if isinstance(s, FixtureSource)),
            mutants.GENERATION[0],
        )
        pending = any(isinstance(s, FixtureSource) for s in self._asked()[1:])  # time-dependent answers
        if self._rounds is not None and self._rounds[0] == revision and not pending:
            return self._rounds[1]
        rounds = self._assemble()
        self._rounds = (revision, rounds)
        return rounds

    def _assemble(self) -> list[Round]:
        first = self._first()
        if first is None:
            return []
        heads = [f for f in first.fetches() if f.asked >= self.started]
        rounds = []
        asked = self._asked()
        for i, head in enumerate(heads):
            until = heads[i + 1].asked if i + 1 < len(heads) else None
            options: list[tuple[SourceAnswer, ...]] = [(SourceAnswer(head.body, head.status),)]
            done = head.answered
            complete = True
            for source in asked[1:]:
                if isinstance(source, FileSource):
                    # Read right after the source before it answered, before the next round began.
                    end = until if until is not None else time.monotonic()
                    choices = [
                        self._file_answer(source, body) for body in source.file.contents_during(done, end)
                    ]
                    options = [(*o, c) for o in options for c in dict.fromkeys(choices)]
                    continue
                answer, answered = self._answer_of(source, head.asked, until)
                if answer is None:
                    complete = False  # still being fetched: this round cannot be applied yet
                    break
                options = [(*o, answer) for o in options]
                done = max(done, answered)
            if complete:
                rounds.append(Round(head.asked, done, tuple(options)))
        return rounds

    def _file_answer(self, source: FileSource, body: bytes) -> SourceAnswer:
        """What reading the file gives, where the model says the server reads such a URI at all."""
        return SourceAnswer(body if keyset.reads_file(source.uri, self.file_uris) else None)

    @staticmethod
    def _answer_of(source: Source, since: float, until: float | None) -> tuple[SourceAnswer | None, float]:
        if not isinstance(source, FixtureSource):
            return SourceAnswer(None), since
        end = until if until is not None else time.monotonic()
        for fetch in source.fetches():
            if fetch.asked >= since and (until is None or fetch.asked < until):
                return SourceAnswer(fetch.body, fetch.status), fetch.answered
        if source.fixture.down_between(since, end) or until is not None:
            # Refused (the fixture was down), or skipped because an earlier source failed: the round
            # fails either way.
            return SourceAnswer(None), since
        return None, 0.0

    def rings(self, rounds: Sequence[Round]) -> list[frozenset[KeyRing]]:
        """The rings the server may hold after each round, from the (possibly mutated) key-provider model.
        The fetch log only grows, so rings already worked out for the same earlier rounds are kept (a
        server refreshing many times a second would otherwise cost a replay of its whole log per probe)."""
        generation = mutants.GENERATION[0]
        known: list[frozenset[KeyRing]] = []
        if self._cache is not None and self._cache[0] == generation:
            _, done, rings_done = self._cache
            keep = min(len(done), len(rounds)) - 1  # the last round worked out may have changed since
            if keep > 0 and list(rounds[:keep]) == done[:keep]:
                known = rings_done[:keep]
        skipped = [SourceAnswer(None, skipped=True)] * sum(
            1 for s in self.sources if isinstance(s, BlankSource) and keyset.skips(s.url)
        )
        possible: frozenset[KeyRing] = known[-1] if known else frozenset({KeyRing()})
        rings: list[frozenset[KeyRing]] = list(known)
        for rnd in rounds[len(known) :]:
            possible = frozenset(
                keyset.refresh(ring, [*skipped, *answers], self.jose)
                for ring in possible
                for answers in rnd.options
            )
            rings.append(possible)
        self._cache = (generation, list(rounds), rings)
        return rings

    def rings_during(self, start: float, end: float) -> tuple[tuple[KeyRing, ...], bool]:
        rounds = self.rounds()
        rings = self.rings(rounds)
        ready = self.ready_at if self.ready_at is not None else self.started
        # Round k is surely applied by `start` when a later round was asked for before it, or (the
        # initial fetch, synchronous at startup) when the server was ready before it.
        low = -1
        for k, rnd in enumerate(rounds):
            nxt = rounds[k + 1].asked if k + 1 < len(rounds) else None
            if (nxt is not None and nxt <= start) or (rnd.done <= ready <= start):
                low = k
        high = low
        for k, rnd in enumerate(rounds):
            if k > low and rnd.done <= end:
                high = k
        candidates = [ring for k in range(low, high + 1) for ring in (rings[k] if k >= 0 else {KeyRing()})]
        unique = tuple(dict.fromkeys(candidates))
        return unique, len(unique) == 1

    async def settle(self, deadline: float) -> None:
        """Wait until everything served so far is applied: a round asked for after now fetches it, and
        the round after that one proves it applied (rounds run one at a time)."""
        first = self._first()
        if first is None:
            return
        await first.fixture.fetched(
            2, after=time.monotonic(), deadline=deadline, path=first.path, client=first.client
        )

    def describe(self) -> list[str]:
        return [s.url for s in self.sources]
