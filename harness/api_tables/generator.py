"""Generate the API tables and HTTP routes from the server's code: Go, the module proxy, the module cache.

A layer above the loading (harness/api_tables/__init__.py) and the model (harness/model/http_routes.py reads
the routes written here). `python -m harness.api_tables ...` is main() below (harness/api_tables/__main__.py).

1.22+: the server's own common/api.GetMethodMetadata per method (fixtures/api/gen; for 1.22.x, whose protos
are gogo-generated, fixtures/api/gen_methods with metadata.go). Before 1.22: fixtures/api/gen_methods lists
the methods a release has. HTTP routes: the grpc-gateway code of the go.temporal.io/api version the release's
go.mod requires (workflowservice/v1/service.pb.gw.go; operatorservice's too, where the release registers it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.api_tables import (
    API_DIR,
    ApiTableMissing,
    cached_table_path,
    has_api_metadata,
    load_table,
    missing_files,
    routes_path,
    served_releases,
    table_path,
    tables_unavailable,
)
from harness.model import http_routes
from harness.model.apis import ApiTable
from harness.model.rules import rules_for
from harness.server.gomodule import MODULE, go_environment, verify_pin
from harness.settings import RELEASES_FILE
from harness.types import ServerVersion, VersionError

GENERATOR = API_DIR / "gen" / "main.go"
# Releases whose go.temporal.io/api is gogo-generated (no protoreflect descriptors): methods from the
# gRPC client interfaces, plus metadata.go (common/api.GetMethodMetadata) where the server has it.
METHODS_GENERATOR = API_DIR / "gen_methods" / "main.go"
METHODS_METADATA = API_DIR / "gen_methods" / "metadata.go"


def load_or_generate(version: str) -> ApiTable:
    """load_table(); where neither a committed table nor one generated earlier exists, the table is
    generated now into the cache first (Go and the module proxy)."""
    if not table_path(version).exists() and not cached_table_path(version).exists():
        sys.stderr.write(f"generating the API table for {version} from the server's code ...\n")
        try:
            table = generate(version)
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            raise ApiTableMissing(f"could not generate the API table for {version}: {exc}") from exc
        path = cached_table_path(version)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    return load_table(version)


def generator_for(version: ServerVersion) -> list[Path]:
    """The generator's files for a release; the first is copied as main.go."""
    if rules_for(version).api_on_protobuf:
        return [GENERATOR]
    return [METHODS_GENERATOR, *([METHODS_METADATA] if has_api_metadata(version) else [])]


def generate(version: str) -> dict[str, Any]:
    """Build and run the generator against go.temporal.io/server@version; returns the table.

    1.22+: the server's own common/api.GetMethodMetadata per method (fixtures/api/gen; for 1.22.x, whose
    protos are gogo-generated, fixtures/api/gen_methods with metadata.go). Before 1.22 the server has no
    metadata table: fixtures/api/gen_methods lists the methods it has, with scope and access unknown.
    The go command runs with the release's toolchain and checksum settings (fixtures/releases.yaml)."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go is needed to generate an API table: install Go 1.26+")
    release = ServerVersion.parse(version)
    verify_pin(go, release)
    env = go_environment(release, CGO_ENABLED="0", GOFLAGS="-mod=mod")
    with tempfile.TemporaryDirectory(prefix="authz-apigen-") as tmp:
        main, *rest = generator_for(release)
        shutil.copy(main, Path(tmp) / "main.go")
        for extra in rest:
            shutil.copy(extra, Path(tmp) / extra.name)
        for cmd in (
            [go, "mod", "init", "authzapigen"],
            [go, "get", f"{MODULE}@{version}"],
            [go, "mod", "tidy"],
            [go, "run", "."],
        ):
            out = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"`{' '.join(cmd[1:])}` failed: {out.stderr.strip()[-800:]}")
    table: dict[str, Any] = json.loads(out.stdout)
    table["generated"] = {
        "server_version": version,
        "by": "python -m harness.api_tables generate " + version,
        "at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "source": _source(release),
    }
    return table


def _source(release: ServerVersion) -> str:
    if rules_for(release).api_on_protobuf:
        return "go.temporal.io/server/common/api.GetMethodMetadata over the server's proto descriptors"
    methods = (
        "the gRPC client interfaces of go.temporal.io/api and the server's adminservice at the versions "
        "the server's go.mod pins"
    )
    if has_api_metadata(release):
        return f"go.temporal.io/server/common/api.GetMethodMetadata over {methods}"
    return f"{methods} (no metadata before 1.22: scope and access unknown)"


# -- every served release: fixtures/releases.yaml is the one list ------------------------------------


def write_table(version: str) -> Path:
    table = generate(version)
    path = table_path(version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    return path


def write_routes(version: str) -> Path:
    """The release's HTTP routes from the grpc-gateway code of the go.temporal.io/api its go.mod requires
    (downloaded first where the module cache lacks it)."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go is needed to read a release's HTTP routes: install Go 1.26+")
    release = ServerVersion.parse(version)
    env = go_environment(release, GOFLAGS="-mod=mod")
    for module in (f"{MODULE}@{version}", f"go.temporal.io/api@{_api_requirement(go, release, env)}"):
        out = subprocess.run([go, "mod", "download", module], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"`go mod download {module}` failed: {out.stderr.strip()[-800:]}")
    try:
        return generate_routes(version)
    except SystemExit as exc:  # the generator's own one-line errors
        raise RuntimeError(str(exc)) from exc


def _api_requirement(go: str, release: ServerVersion, env: dict[str, str]) -> str:
    out = subprocess.run(
        [go, "mod", "download", "-json", f"{MODULE}@{release}"], env=env, capture_output=True, text=True
    )
    info = json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}
    if out.returncode != 0 or not info.get("GoMod"):
        raise RuntimeError(f"could not download {MODULE}@{release}: {info.get('Error') or out.stderr[-400:]}")
    match = re.search(r"^\s*go\.temporal\.io/api (v\S+)", Path(info["GoMod"]).read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{release}: no go.temporal.io/api requirement in its go.mod")
    return match.group(1)


def generate_all(versions: Sequence[ServerVersion] = (), *, force: bool = False) -> int:
    """Generate what each served, buildable release lacks (or everything, with force). One line per
    release; 0 when every release has its files (or a recorded reason), 1 when one could not be made."""
    unavailable = tables_unavailable()
    chosen = list(versions) or served_releases()
    failed: dict[ServerVersion, str] = {}
    for version in chosen:
        if version in unavailable and not force:
            print(f"{version}: skipped ({unavailable[version]})", flush=True)
            continue
        wanted = missing_files(version) if not force else [table_path(str(version))]
        if force and has_api_metadata(version):
            wanted.append(routes_path(str(version)))
        if not wanted:
            continue
        started = time.monotonic()
        try:
            for path in wanted:
                if path.parent == http_routes.ROUTES_DIR:
                    write_routes(str(version))
                else:
                    write_table(str(version))
        except (RuntimeError, subprocess.CalledProcessError, OSError, ValueError) as exc:
            failed[version] = " ".join(str(exc).split())[:600]
            print(f"{version}: FAILED: {failed[version]}", flush=True)
            continue
        names = ", ".join(str(p.relative_to(API_DIR.parent.parent)) for p in wanted)
        print(f"{version}: wrote {names} ({time.monotonic() - started:.0f} s)", flush=True)
    if failed:
        print(
            f"{len(failed)} release(s) could not be generated: {', '.join(map(str, failed))}. Fix the cause, "
            f"or record why under the line's `no_tables` in {RELEASES_FILE.name}",
            file=sys.stderr,
        )
        return 1
    return 0


# -- HTTP routes: a release's grpc-gateway code -------------------------------------------------------

_PATTERN = re.compile(
    r"pattern_(?:Workflow|Operator)Service_(\w+?)_(\d+)\s*=\s*runtime\.MustPattern\(runtime\.NewPattern\(1, "
    r"\[\]int\{([^}]*)\}, \[\]string\{([^}]*)\}, \"([^\"]*)\""
)
# mux.Handle("POST", pattern_...) in older generated code, mux.Handle(http.MethodPost, pattern_...) later.
_HANDLE = re.compile(
    r'mux\.Handle\((?:"(\w+)"|http\.Method(\w+)), pattern_(?:Workflow|Operator)Service_(\w+?)_(\d+),'
)


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


def parse_gateway(source: str) -> frozenset[http_routes.Route]:
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


def _api_version(modcache: Path, version: str) -> str:
    gomod = (modcache / f"go.temporal.io/server@{version}" / "go.mod").read_text()
    match = re.search(r"^\s*go\.temporal\.io/api (v\S+)", gomod, re.MULTILINE)
    if match is None:
        raise SystemExit(f"{version}: no go.temporal.io/api requirement in its go.mod")
    return match.group(1)


def generate_routes(version: str) -> Path:
    """fixtures/api/http/<version>.json from the grpc-gateway code of the go.temporal.io/api the release's
    go.mod requires, read from the module cache as it is (write_routes() downloads what it lacks first)."""
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
    http_routes.ROUTES_DIR.mkdir(parents=True, exist_ok=True)
    out = http_routes.ROUTES_DIR / f"{version}.json"
    out.write_text(json.dumps({"version": version, "api": api, "routes": found}, indent=1) + "\n")
    return out


USAGE = (
    "usage: python -m harness.api_tables generate vX.Y.Z\n"
    "       python -m harness.api_tables generate-all [--force] [vX.Y.Z ...]\n"
    "       python -m harness.api_tables routes vX.Y.Z ..."
)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "generate":
        version = argv[1]
        print(f"wrote {write_table(version)}")
        if has_api_metadata(ServerVersion.parse(version)):
            print(f"wrote {write_routes(version)}")
        return 0
    if argv and argv[0] == "generate-all":
        force = "--force" in argv[1:]
        try:
            versions = [ServerVersion.parse(v) for v in argv[1:] if v != "--force"]
        except VersionError as exc:
            print(f"{exc}\n{USAGE}", file=sys.stderr)
            return 2
        if hasattr(os, "nice"):
            os.nice(10)  # hours of compiling on a machine others use: yield to them
        return generate_all(versions, force=force)
    if argv and argv[0] == "routes":  # was `python -m harness.model.http_routes vX.Y.Z ...`
        for version in argv[1:]:
            print(generate_routes(version))
        return 0
    print(USAGE, file=sys.stderr)
    return 2
