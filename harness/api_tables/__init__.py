"""Load the committed API tables (fixtures/api/<version>.json) and regenerate them from the server's code.

Before 1.22 a release has no metadata table: fixtures/api/methods/<version>.json lists the methods it
has (scope and access unknown), which is what the pre-1.22 model needs (a method it lacks is ABSENT).
From 1.22 a release also has its HTTP API routes (fixtures/api/http/<version>.json, harness.model.http_routes).

    python -m harness.api_tables generate-all            # every release fixtures/releases.yaml lists as
                                                         # served and buildable that lacks one (niced)
    python -m harness.api_tables generate v1.32.2        # one release's table (and routes), regenerated

Both need Go and the module proxy: each release's module source and its line's toolchain
(fixtures/releases.yaml); a run with a container image or a cached binary reads the committed files only.
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

import yaml

from harness.model import http_routes
from harness.model.apis import ApiTable, MethodRule
from harness.server.gomodule import MODULE, go_environment, verify_pin
from harness.server.releases import RELEASES_FILE, load_releases
from harness.settings import ENV
from harness.types import (
    ADMIN_SERVICE,
    NEXUS_SERVICE,
    OPERATOR_SERVICE,
    WORKFLOW_SERVICE,
    Access,
    Scope,
    ServerVersion,
    VersionError,
)

API_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "api"
GENERATOR = API_DIR / "gen" / "main.go"
# Releases whose go.temporal.io/api is gogo-generated (no protoreflect descriptors): methods from the
# gRPC client interfaces, plus metadata.go (common/api.GetMethodMetadata) where the server has it.
METHODS_GENERATOR = API_DIR / "gen_methods" / "main.go"
METHODS_METADATA = API_DIR / "gen_methods" / "metadata.go"
METHOD_LISTS = API_DIR / "methods"
METADATA_SINCE = (1, 22, 0)  # common/api.GetMethodMetadata
PROTOREFLECT_SINCE = (1, 23, 0)  # go.temporal.io/api on google.golang.org/protobuf (gogo before)
NEXUS_SINCE = (1, 24, 0)  # NexusService is in the frontend's table from 1.24


def expected_services(version: ServerVersion) -> set[str]:
    """The services a 1.22+ table of this release must list: a table written by an older generator listed
    only WorkflowService and OperatorService, and the model then reads every AdminService and Nexus
    method as one the release lacks (seen on v1.31.2: 18 admin cells FAIL as UNIMPLEMENTED vs DENIED)."""
    services = {WORKFLOW_SERVICE, OPERATOR_SERVICE, ADMIN_SERVICE}
    return services | {NEXUS_SERVICE} if version >= NEXUS_SINCE else services


class ApiTableMissing(LookupError):
    pass


def has_metadata(version: str) -> bool:
    """Whether the release has common/api metadata (1.22+); before, its table only lists its methods."""
    try:
        return ServerVersion.parse(version) >= METADATA_SINCE
    except VersionError:
        return True


def table_path(version: str) -> Path:
    """fixtures/api/<version>.json (metadata, 1.22+) or fixtures/api/methods/<version>.json (before)."""
    return (API_DIR if has_metadata(version) else METHOD_LISTS) / f"{version}.json"


def available_versions() -> list[str]:
    """The releases with a committed metadata table (method lists of older releases are not included)."""
    return sorted(p.stem for p in API_DIR.glob("v*.json"))


def cached_table_path(version: str) -> Path:
    return ENV.cache_root / "api" / f"{version}.json"


def load_table(version: str, *, generate_missing: bool = False) -> ApiTable:
    """The committed table; else one generated earlier into the cache; else (if asked) generate it now."""
    path = table_path(version)
    if not path.exists():
        path = cached_table_path(version)
    if not path.exists() and generate_missing:
        sys.stderr.write(f"generating the API table for {version} from the server's code ...\n")
        try:
            table = generate(version)
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            raise ApiTableMissing(f"could not generate the API table for {version}: {exc}") from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    if not path.exists():
        raise ApiTableMissing(
            f"no API table for server {version} in {API_DIR}; have {available_versions()}. "
            f"Generate it: python -m harness.api_tables generate {version}"
        )
    data = json.loads(path.read_text())
    _check_services(version, path, set(data["services"]))
    services = {
        service: {
            method: MethodRule(Scope(rule["scope"]), Access(rule["access"]))
            for method, rule in methods.items()
        }
        for service, methods in data["services"].items()
    }
    return ApiTable(version=version, services=services)


def _check_services(version: str, path: Path, services: set[str]) -> None:
    try:
        release = ServerVersion.parse(version)
    except VersionError:
        return  # a hand-made table (tests): nothing to compare with
    if release >= METADATA_SINCE and (missing := expected_services(release) - services):
        names = ", ".join(sorted(s.rsplit(".", 1)[-1] for s in missing))
        raise ApiTableMissing(
            f"the API table {path} lacks {names} (written by an older generator); "
            f"regenerate it: python -m harness.api_tables generate {version}"
        )


def generator_for(version: ServerVersion) -> list[Path]:
    """The generator's files for a release; the first is copied as main.go."""
    if version >= PROTOREFLECT_SINCE:
        return [GENERATOR]
    return [METHODS_GENERATOR, *([METHODS_METADATA] if version >= METADATA_SINCE else [])]


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
    if release >= PROTOREFLECT_SINCE:
        return "go.temporal.io/server/common/api.GetMethodMetadata over the server's proto descriptors"
    methods = (
        "the gRPC client interfaces of go.temporal.io/api and the server's adminservice at the versions "
        "the server's go.mod pins"
    )
    if release >= METADATA_SINCE:
        return f"go.temporal.io/server/common/api.GetMethodMetadata over {methods}"
    return f"{methods} (no metadata before 1.22: scope and access unknown)"


# -- every served release: fixtures/releases.yaml is the one list ------------------------------------


def routes_path(version: str) -> Path:
    return http_routes.ROUTES_DIR / f"{version}.json"


def missing_files(version: ServerVersion) -> list[Path]:
    """What a release should have committed and has not: its table (or method list), and from 1.22 its
    HTTP routes."""
    wanted = [table_path(str(version))]
    if version >= METADATA_SINCE:  # the HTTP API (grpc-gateway) came with 1.22 too
        wanted.append(routes_path(str(version)))
    return [p for p in wanted if not p.exists()]


def tables_unavailable(path: Path = RELEASES_FILE) -> dict[ServerVersion, str]:
    """Releases fixtures/releases.yaml lists as buildable whose tables could not be generated, and why
    (a line's `no_tables`)."""
    document = yaml.safe_load(path.read_text())
    return {
        ServerVersion.parse(str(v)): str(why).strip()
        for line in document["lines"].values()
        for v, why in (line.get("no_tables") or {}).items()
    }


def served_releases() -> list[ServerVersion]:
    """Every release fixtures/releases.yaml lists as served (pinned ones included) and buildable."""
    return load_releases().buildable()


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
        return http_routes.generate(version)
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
        if force and version >= METADATA_SINCE:
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


USAGE = (
    "usage: python -m harness.api_tables generate vX.Y.Z\n"
    "       python -m harness.api_tables generate-all [--force] [vX.Y.Z ...]"
)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "generate":
        version = argv[1]
        print(f"wrote {write_table(version)}")
        if ServerVersion.parse(version) >= METADATA_SINCE:
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
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
