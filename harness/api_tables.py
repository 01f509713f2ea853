"""Load the committed API tables (fixtures/api/<version>.json) and regenerate them from the server's code.

Regenerate: `python -m harness.api_tables generate v1.32.2` (needs Go and the module proxy).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.model.apis import ApiTable, MethodRule
from harness.settings import ENV, child_environment
from harness.types import Access, Scope

API_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "api"
GENERATOR = API_DIR / "gen" / "main.go"


class ApiTableMissing(LookupError):
    pass


def table_path(version: str) -> Path:
    return API_DIR / f"{version}.json"


def available_versions() -> list[str]:
    return sorted(p.stem for p in API_DIR.glob("v*.json"))


def cached_table_path(version: str) -> Path:
    return ENV.cache_root / "api" / f"{version}.json"


def load_table(version: str, *, generate_missing: bool = False) -> ApiTable:
    """The committed table; else one generated earlier into the cache; else (if asked) generate it now."""
    path = table_path(version)
    if not path.exists():
        path = cached_table_path(version)
    if not path.exists() and generate_missing:
        sys.stderr.write(f"generating the API table for {version} from the server's common/api ...\n")
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
    services = {
        service: {
            method: MethodRule(Scope(rule["scope"]), Access(rule["access"]))
            for method, rule in methods.items()
        }
        for service, methods in data["services"].items()
    }
    return ApiTable(version=version, services=services)


def generate(version: str) -> dict[str, Any]:
    """Build and run fixtures/api/gen against go.temporal.io/server@version; returns the table."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go is needed to generate an API table: install Go 1.26+")
    env = child_environment(CGO_ENABLED="0", GOTOOLCHAIN="auto", GOFLAGS="-mod=mod")
    with tempfile.TemporaryDirectory(prefix="authz-apigen-") as tmp:
        shutil.copy(GENERATOR, Path(tmp) / "main.go")
        for cmd in (
            [go, "mod", "init", "authzapigen"],
            [go, "get", f"go.temporal.io/server@{version}"],
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
        "source": "go.temporal.io/server/common/api.GetMethodMetadata over the server's proto descriptors",
    }
    return table


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "generate":
        print("usage: python -m harness.api_tables generate vX.Y.Z", file=sys.stderr)
        return 2
    version = argv[1]
    table = generate(version)
    table_path(version).write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    print(f"wrote {table_path(version)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
