"""Which HTTP API routes a release's gateway serves: the committed route table of each release under
fixtures/api/http/ (read from the grpc-gateway code of the go.temporal.io/api version the release's go.mod
requires: workflowservice/v1/service.pb.gw.go, operatorservice's too where the release has one). A route
the release lacks answers 404/501 from the gateway, before any authorization.

The tables are written by harness/api_tables/generator.py (Go and the module cache live there, not here):

    python -m harness.api_tables routes v1.22.0 v1.24.2 ...   # regenerate (needs the Go module cache)
    python -m harness.api_tables generate-all                 # every served release's that is missing
                                                              # (downloads the modules first)

A route is (gRPC method, HTTP verb, path shape): the path with each variable replaced by `*` (`**` for a
multi-segment one), so the harness's template and the release's pattern compare as strings.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

ROUTES_DIR = Path(__file__).resolve().parent.parent.parent / "fixtures" / "api" / "http"
_VARIABLE = re.compile(r"\{[^}=]*\}")
_BOUND_VARIABLE = re.compile(r"\{[^}=]*=([^}]*)\}")

Route = tuple[str, str, str]  # (method, VERB, shape)


def shape(template: str) -> str:
    """`/api/v1/namespaces/{namespace}/x` -> `/api/v1/namespaces/*/x` (a bound variable keeps its
    pattern: `{name=a/*}` -> `a/*`)."""
    return _VARIABLE.sub("*", _BOUND_VARIABLE.sub(r"\1", template))


@functools.cache
def routes_of(version: str) -> frozenset[Route] | None:
    """The release's routes, or None where no table was generated (every route assumed served)."""
    path = ROUTES_DIR / f"{version}.json"
    if not path.exists():
        return None
    return frozenset((str(m), str(v), str(p)) for m, v, p in json.loads(path.read_text())["routes"])


def serves(version: str, method: str, verb: str, template: str) -> bool:
    known = routes_of(version)
    return known is None or (method, verb.upper(), shape(template)) in known
