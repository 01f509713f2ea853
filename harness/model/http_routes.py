"""Which HTTP API routes a release's gateway serves: read from the grpc-gateway code of the go.temporal.io/api
version the release's go.mod requires (workflowservice/v1/service.pb.gw.go), one file per release under
fixtures/api/http/ (operatorservice's gateway too, where the release has one). A route the release lacks answers 404/501 from the gateway, before any authorization.

    python -m harness.model.http_routes v1.22.0 v1.24.2 ...   # regenerate (needs the Go module cache)
    python -m harness.api_tables generate-all                 # every served release's that is missing
                                                              # (downloads the modules first)

A route is (gRPC method, HTTP verb, path shape): the path with each variable replaced by `*` (`**` for a
multi-segment one), so the harness's template and the release's pattern compare as strings.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROUTES_DIR = Path(__file__).resolve().parent.parent.parent / "fixtures" / "api" / "http"
_PATTERN = re.compile(
    r"pattern_(?:Workflow|Operator)Service_(\w+?)_(\d+)\s*=\s*runtime\.MustPattern\(runtime\.NewPattern\(1, "
    r"\[\]int\{([^}]*)\}, \[\]string\{([^}]*)\}, \"([^\"]*)\""
)
# mux.Handle("POST", pattern_...) in older generated code, mux.Handle(http.MethodPost, pattern_...) later.
_HANDLE = re.compile(
    r'mux\.Handle\((?:"(\w+)"|http\.Method(\w+)), pattern_(?:Workflow|Operator)Service_(\w+?)_(\d+),'
)
_VARIABLE = re.compile(r"\{[^}=]*\}")
_BOUND_VARIABLE = re.compile(r"\{[^}=]*=([^}]*)\}")

Route = tuple[str, str, str]  # (method, VERB, shape)


def shape(template: str) -> str:
    """`/api/v1/namespaces/{namespace}/x` -> `/api/v1/namespaces/*/x` (a bound variable keeps its
    pattern: `{name=a/*}` -> `a/*`)."""
    return _VARIABLE.sub("*", _BOUND_VARIABLE.sub(r"\1", template))


def decode(ops: Sequence[int], pool: Sequence[str], verb: str) -> str:
    """grpc-gateway's pattern opcodes (utilities.OpCode) back to a path shape."""
    stack: list[str] = []
    for op, operand in zip(ops[::2], ops[1::2], strict=True):
        if op == 1:  # OpPush: one segment, any value
            stack.append("*")
        elif op == 2:  # OpLitPush
            stack.append(pool[operand])
        elif op == 3:  # OpPushM: the rest of the path
            stack.append("**")
        elif op == 4:  # OpConcatN: join the top n
            joined = "/".join(stack[-operand:])
            del stack[-operand:]
            stack.append(joined)
        elif op == 5:  # OpCapture: the top becomes a variable; its shape stays
            pass
    path = "/" + "/".join(stack)
    return f"{path}:{verb}" if verb else path


def parse_gateway(source: str) -> frozenset[Route]:
    patterns = {
        (m.group(1), m.group(2)): decode(
            [int(x) for x in m.group(3).split(",") if x.strip()],
            [s.strip().strip('"') for s in m.group(4).split(",") if s.strip()],
            m.group(5),
        )
        for m in _PATTERN.finditer(source)
    }
    return frozenset(
        (method, (quoted or named).upper(), patterns[(method, n)])
        for quoted, named, method, n in _HANDLE.findall(source)
        if (method, n) in patterns
    )


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


def _api_version(modcache: Path, version: str) -> str:
    gomod = (modcache / f"go.temporal.io/server@{version}" / "go.mod").read_text()
    match = re.search(r"^\s*go\.temporal\.io/api (v\S+)", gomod, re.MULTILINE)
    if match is None:
        raise SystemExit(f"{version}: no go.temporal.io/api requirement in its go.mod")
    return match.group(1)


def generate(version: str) -> Path:
    modcache = Path(
        subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    )
    api = _api_version(modcache, version)
    module = modcache / f"go.temporal.io/api@{api}"
    if not module.exists():
        raise SystemExit(
            f"{version}: {module} is not in the module cache (go mod download go.temporal.io/api@{api})"
        )
    # The server registers OperatorService's gateway only where its http_api_server.go says so (1.24+).
    server_http = modcache / f"go.temporal.io/server@{version}" / "service/frontend/http_api_server.go"
    operator = server_http.exists() and "RegisterOperatorServiceHandler" in server_http.read_text()
    gateways = [
        module / f"{s}service/v1/service.pb.gw.go" for s in ("workflow", "operator" if operator else "")
    ]
    found = sorted(r for g in gateways if g.exists() for r in parse_gateway(g.read_text()))
    ROUTES_DIR.mkdir(parents=True, exist_ok=True)
    out = ROUTES_DIR / f"{version}.json"
    out.write_text(json.dumps({"version": version, "api": api, "routes": found}, indent=1) + "\n")
    return out


def main(argv: Sequence[str]) -> int:
    for version in argv:
        print(generate(version))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
