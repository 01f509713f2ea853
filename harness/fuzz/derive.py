"""More distinct inputs per hypothesis test case, for the fast oracle phase: recombined from the drawn ones.

Hypothesis's own work per drawn example (choosing, recording and mutating its choices) was most of the
fast phase's time. A class whose input is made of parts its strategy draws independently of each other
(a claims payload's sub, permissions and each time claim; a permission list's entries; a token-bytes
input's documents' members, style, prefix and suffix, its encodings, signature, key and shape; a sizes
input's place, depth, shape and lengths) names those parts here (its `Parts`). From
the examples of one drawn batch, PER_DRAWN more inputs per drawn example are put together, each part
taken from one of the batch's examples, which one chosen by a seed drawn with the batch. Every input
derived is one the class's recipe takes as it is (the live class's input, replayable as a case file),
and one its strategy could draw too, or a combination of more of the parts it varies (token-bytes: more
than three changes at once): more is asked, nothing drawn is left out.

Shrinking: the derived inputs are a pure function of the drawn batch and the seed, so hypothesis replays
and shrinks a failing test case as any other (its batch towards fewer, simpler examples, the seed towards
0); a derived input that disagrees is the failure raised, so the minimal input reported (and written as
a case file) is that input, each of its parts shrunk as far as the drawn example it came from.

Counting (fast_phase): an example counted is one distinct input asked of both the model and the release's
functions and compared: the drawn and derived inputs of a test case are asked once each, and an input
already answered alike earlier in the phase (hypothesis redraws some, and recombining meets some again)
is neither asked nor counted again. A live phase counts by the same rule (runner.run_property): an input
hypothesis draws again in the phase is sent again but not counted again (a config class's live phase,
drawn from a few values, meets many repeats), so the two phases' rates are of the same thing.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.fuzz.strategies.claims import TIME_CLAIMS

PER_DRAWN = 32  # inputs derived per drawn example of a batch (a batch of one derives none)
# In the CI profile (a fixed number of test cases; the mutants' runs shrink what they find): as many as
# before PER_DRAWN rose from 8, so the CI fuzz share and its shrinking keep their size.
CI_PER_DRAWN = 8
SEED_MAX = 2**32 - 1
SEEN_MAX = 1 << 20  # inputs a phase remembers as answered alike (then it starts again: memory stays bounded)


class _Absent:
    """A part the input does not have (a claim not sent, a list entry not there)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Parts:
    """An input's independently drawn parts: split(input) gives them in a fixed order, join(parts) the
    input again; join(split(x)) == x (key order included) for every input of the class's strategy."""

    split: Callable[[Any], tuple[Any, ...]]
    join: Callable[[Sequence[Any]], Any]


def recombined(drawn: Sequence[Any], parts: Parts, seed: int, per_drawn: int = PER_DRAWN) -> list[Any]:
    """Inputs made of the drawn inputs' parts, each part from a drawn input the seed picks (none from a
    batch of fewer than two: nothing to recombine). A pure function of its arguments."""
    if len(drawn) < 2:
        return []
    pick = random.Random(seed).randrange
    split = [parts.split(value) for value in drawn]
    width = len(split[0])
    return [
        parts.join([split[pick(len(split))][slot] for slot in range(width)])
        for _ in range(per_drawn * len(drawn))
    ]


def input_key(value: Any) -> str:
    """An input as text: its strategies draw the members of each mapping in one order (a claims payload's
    order is in the token's bytes), or in an order the recipe does not read (audience)."""
    return json.dumps(value, ensure_ascii=True, sort_keys=True, default=repr)


class Seen:
    """The inputs a phase has had answered alike (hashes of their text), so none is asked twice."""

    def __init__(self, limit: int = SEEN_MAX) -> None:
        self.limit = limit
        self._hashes: set[int] = set()

    def new(self, values: Sequence[Any]) -> list[Any]:
        """`values` less repeats and inputs answered before, in order."""
        fresh: list[Any] = []
        here: set[int] = set()
        for value in values:
            digest = hash(input_key(value))
            if digest not in self._hashes and digest not in here:
                here.add(digest)
                fresh.append(value)
        return fresh

    def first(self, value: Any) -> int:
        """1 the first time `value` is met (then remembered), else 0: a live phase's count of it."""
        fresh = self.new([value])
        self.answered(fresh)
        return len(fresh)

    def answered(self, values: Sequence[Any]) -> None:
        if len(self._hashes) + len(values) > self.limit:
            self._hashes.clear()
        self._hashes.update(hash(input_key(value)) for value in values)


# -- the classes' parts --------------------------------------------------------------------------------

_CLAIMS_KNOWN = frozenset({"sub", "permissions", "aud", *TIME_CLAIMS})


def _member(mapping: Mapping[str, Any], name: str) -> Any:
    return mapping.get(name, ABSENT)


def _split_claims(value: Mapping[str, Any]) -> tuple[Any, ...]:
    """sub; permissions with their padding; each time claim (literal, relative); aud; other claims."""
    payload, relative = value["payload"], value.get("relative") or {}
    times = tuple((_member(payload, n), _member(relative, n)) for n in TIME_CLAIMS)
    others = tuple((k, v) for k, v in payload.items() if k not in _CLAIMS_KNOWN)
    permissions = (_member(payload, "permissions"), value.get("padding", ABSENT))
    return (_member(payload, "sub"), permissions, *times, _member(payload, "aud"), others)


def _join_claims(parts: Sequence[Any]) -> dict[str, Any]:
    sub, (permissions, padding), *rest = parts
    times, aud, others = rest[: len(TIME_CLAIMS)], rest[-2], rest[-1]
    payload: dict[str, Any] = {}
    relative: dict[str, Any] = {}
    if sub is not ABSENT:
        payload["sub"] = sub
    if permissions is not ABSENT:
        payload["permissions"] = permissions
    for name, (literal, offset) in zip(TIME_CLAIMS, times, strict=True):
        if literal is not ABSENT:
            payload[name] = literal
        if offset is not ABSENT:
            relative[name] = offset
    if aud is not ABSENT:
        payload["aud"] = aud
    payload.update(others)
    data: dict[str, Any] = {"payload": payload, "relative": relative}
    if padding is not ABSENT:
        data["padding"] = padding
    return data


def _entries(values: Sequence[Any], size: int) -> tuple[Any, ...]:
    return tuple(values[i] if i < len(values) else ABSENT for i in range(size))


def _present(parts: Sequence[Any]) -> list[Any]:
    return [p for p in parts if p is not ABSENT]


DOCUMENT_PARTS = ("members", "style", "prefix", "suffix")  # each a perturbation of its own changes


def _split_token(value: Mapping[str, Any]) -> tuple[Any, ...]:
    """Each JSON document's members, style, prefix and suffix; the encodings, signature, key and shape."""
    header, payload, encode = value["header"], value["payload"], value["encode"]
    return (*(header[p] for p in DOCUMENT_PARTS), *(payload[p] for p in DOCUMENT_PARTS),
            encode["header"], encode["payload"], value["signature"], value["key"], value["shape"])  # fmt: skip


def _join_token(parts: Sequence[Any]) -> dict[str, Any]:
    header, payload = (
        dict(zip(DOCUMENT_PARTS, parts[:4], strict=True)),
        dict(zip(DOCUMENT_PARTS, parts[4:8], strict=True)),
    )
    encode_header, encode_payload, signature, key, shape = parts[8:]
    return {"header": header, "payload": payload, "encode": {"header": encode_header, "payload": encode_payload},
            "signature": signature, "key": key, "shape": shape}  # fmt: skip


def _split_regex(value: Mapping[str, Any]) -> tuple[Any, ...]:
    """The pattern, then its one to four strings (strings drawn near another pattern are strings too)."""
    return (value["regex"], *_entries(value["permissions"], 4))


def _join_regex(parts: Sequence[Any]) -> dict[str, Any]:
    return {"regex": parts[0], "permissions": [parts[1], *_present(parts[2:])]}


def _split_hosts(value: Mapping[str, Any]) -> tuple[Any, ...]:
    """The frontend.httpAllowedHosts value, then its one to four Host headers."""
    return (value["patterns"], *_entries(value["hosts"], 4))


def _join_hosts(parts: Sequence[Any]) -> dict[str, Any]:
    hosts = [parts[1], *_present(parts[2:])]
    return {"patterns": parts[0], "hosts": list(dict.fromkeys(hosts))}  # unique, as drawn


def _split_sizes(value: Mapping[str, Any]) -> tuple[Any, ...]:
    """Where (the target and the place in it), depth, shape, and a token's long and many (a key set has
    none: a token built on a key set's part gets the simplest, 0 and 0, as hypothesis shrinks them)."""
    tail = (value["long"], value["many"]) if value["target"] == "token" else ABSENT
    return ((value["target"], value["place"]), value["depth"], value["shape"], tail)


def _join_sizes(parts: Sequence[Any]) -> dict[str, Any]:
    (target, place), depth, shape, tail = parts
    value = {"target": target, "place": place, "depth": depth, "shape": shape}
    if target == "token":
        value["long"], value["many"] = (0, 0) if tail is ABSENT else tail
    return value


def members(*names: str) -> Parts:
    """An input that is a mapping of these members, each drawn on its own, in this order."""
    return Parts(
        lambda value: tuple(value[n] for n in names), lambda parts: dict(zip(names, parts, strict=True))
    )


def entries_of(name: str, size: int) -> Parts:
    """An input {name: [1 to `size` entries]}, each entry drawn on its own."""
    return Parts(
        lambda value: _entries(value[name], size), lambda parts: {name: [parts[0], *_present(parts[1:])]}
    )


def _split_idp(value: Mapping[str, Any]) -> tuple[Any, ...]:
    """The key set's one to six keys (idp.idp_inputs), its status, and the slot that signs."""
    return (*_entries(value["keys"], 6), value["status"], value["sign_with"])


def _join_idp(parts: Sequence[Any]) -> dict[str, Any]:
    return {"keys": [parts[0], *_present(parts[1:6])], "status": parts[6], "sign_with": parts[7]}


PARTS: Mapping[str, Parts] = {
    "claims": Parts(_split_claims, _join_claims),
    "names": entries_of("permissions", 4),  # the caller's own namespace's entry, then up to three
    "token-bytes": Parts(_split_token, _join_token),
    "regex": Parts(_split_regex, _join_regex),
    "allowed-hosts": Parts(_split_hosts, _join_hosts),
    "audience": members("audience", "aud", "permissions"),
    "sizes": Parts(_split_sizes, _join_sizes),
    "http-headers": entries_of("headers", 4),
    "key-source-uris": entries_of("uris", 3),
    "jwks-idp": Parts(_split_idp, _join_idp),
    "jwks": members("document", "prefix", "suffix", "status", "sign_with"),
    "header-name": members("header_name", "sent_as"),
}
