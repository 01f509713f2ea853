"""Load the committed API tables (fixtures/api/<version>.json) and say which files a release should have.

Before 1.22 a release has no metadata table: fixtures/api/methods/<version>.json lists the methods it
has (scope and access unknown), which is what the pre-1.22 model needs (a method it lacks is ABSENT).
From 1.22 a release also has its HTTP API routes (fixtures/api/http/<version>.json, harness.model.http_routes).

Loading only: no Go, no subprocess. Generation (the server's code through Go and the module proxy, a
release's grpc-gateway code for its routes) is harness/api_tables/generator.py, a layer above; its
load_or_generate() is load_table() that generates a missing table into the cache first.

    python -m harness.api_tables generate-all            # every release fixtures/releases.yaml lists as
                                                         # served and buildable that lacks one (niced)
    python -m harness.api_tables generate v1.32.2        # one release's table (and routes), regenerated
    python -m harness.api_tables routes v1.22.0 ...      # HTTP routes only, from the module cache as it is

They need Go and the module proxy: each release's module source and its line's toolchain
(fixtures/releases.yaml); a run with a container image or a cached binary reads the committed files only.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from harness.model import http_routes
from harness.model.apis import ApiTable, MethodRule
from harness.model.rules import rules_for
from harness.server.releases import load_releases
from harness.settings import ENV, RELEASES_FILE
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

API_DIR = Path(__file__).resolve().parent.parent.parent / "fixtures" / "api"
METHOD_LISTS = API_DIR / "methods"


def has_api_metadata(version: ServerVersion) -> bool:
    """common/api.GetMethodMetadata, the metadata the 1.22+ authorizer reads (ServerRules.metadata_authorizer)."""
    return rules_for(version).metadata_authorizer


def expected_services(version: ServerVersion) -> set[str]:
    """The services a 1.22+ table of this release must list: a table written by an older generator listed
    only WorkflowService and OperatorService, and the model then reads every AdminService and Nexus
    method as one the release lacks (seen on v1.31.2: 18 admin cells FAIL as UNIMPLEMENTED vs DENIED)."""
    services = {WORKFLOW_SERVICE, OPERATOR_SERVICE, ADMIN_SERVICE}
    return services | {NEXUS_SERVICE} if rules_for(version).nexus_service_in_api_metadata else services


class ApiTableMissing(LookupError):
    pass


def has_metadata(version: str) -> bool:
    """Whether the release has common/api metadata (1.22+); before, its table only lists its methods."""
    try:
        release = ServerVersion.parse(version)
    except VersionError:
        return True
    try:
        return has_api_metadata(release)
    except ValueError:
        return False  # older than the model's range (rules_for refuses it): no metadata either


def table_path(version: str) -> Path:
    """fixtures/api/<version>.json (metadata, 1.22+) or fixtures/api/methods/<version>.json (before)."""
    return (API_DIR if has_metadata(version) else METHOD_LISTS) / f"{version}.json"


def available_versions() -> list[str]:
    """The releases with a committed metadata table (method lists of older releases are not included)."""
    return sorted(p.stem for p in API_DIR.glob("v*.json"))


def cached_table_path(version: str) -> Path:
    return ENV.cache_root / "api" / f"{version}.json"


def load_table(version: str) -> ApiTable:
    """The committed table; else one generated earlier into the cache (generator.load_or_generate()
    generates a missing one first)."""
    path = table_path(version)
    if not path.exists():
        path = cached_table_path(version)
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
    if has_api_metadata(release) and (missing := expected_services(release) - services):
        names = ", ".join(sorted(s.rsplit(".", 1)[-1] for s in missing))
        raise ApiTableMissing(
            f"the API table {path} lacks {names} (written by an older generator); "
            f"regenerate it: python -m harness.api_tables generate {version}"
        )


# -- every served release: fixtures/releases.yaml is the one list ------------------------------------


def routes_path(version: str) -> Path:
    return http_routes.ROUTES_DIR / f"{version}.json"


def missing_files(version: ServerVersion) -> list[Path]:
    """What a release should have committed and has not: its table (or method list), and from 1.22 its
    HTTP routes."""
    wanted = [table_path(str(version))]
    if has_api_metadata(version):  # the HTTP API (grpc-gateway) came with 1.22 too
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
