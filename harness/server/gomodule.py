"""The go command for one server release, as fixtures/releases.yaml says to run it: which toolchain, the
checksum database off for a pinned release (and its hashes checked instead), and one clear error when the
module proxy does not serve a release."""

from __future__ import annotations

import json
import os
import subprocess

from harness.server.releases import Pin, Releases, load_releases
from harness.settings import DEFAULT_VERSION, child_environment
from harness.types import ServerVersion

MODULE = "go.temporal.io/server"


class ProvisionError(RuntimeError):
    """One clear message that names the fix."""


def go_environment(
    version: ServerVersion, releases: Releases | None = None, **overrides: str
) -> dict[str, str]:
    """The environment for a go command that fetches or builds `version`.

    GOTOOLCHAIN is explicit because `auto` never downgrades: the machine's Go would compile an old
    release, so the build would depend on the machine rather than on the release. A pinned release gets the checksum database turned off for
    this module only (its dependencies are still checked), and verify_pin() checks the module instead."""
    releases = releases or load_releases()
    env = child_environment(**{"GOTOOLCHAIN": releases.toolchain(version), "GOFLAGS": "", **overrides})
    if releases.pin(version) is not None:
        env["GONOSUMDB"] = ",".join(p for p in (os.environ.get("GONOSUMDB", ""), MODULE) if p)
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)


def _reason(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return " ".join(lines[-2:]) if lines else "not found"


def published_versions(go: str) -> list[ServerVersion]:
    """The stable releases in the proxy's version list (it can omit releases it still serves)."""
    out = _run([go, "list", "-m", "-versions", MODULE], child_environment(GOTOOLCHAIN="auto"), timeout=120)
    if out.returncode != 0:
        raise ProvisionError(
            f"could not list {MODULE} versions from the Go module proxy: {out.stderr.strip()}"
        )
    return [ServerVersion.parse(v) for v in out.stdout.split()[1:] if "-" not in v]


def check_served(go: str, version: ServerVersion, releases: Releases | None = None) -> None:
    """Ask the proxy for the version itself; a refusal becomes a ProvisionError naming the nearest releases."""
    releases = releases or load_releases()
    out = _run([go, "list", "-m", "-json", f"{MODULE}@{version}"], go_environment(version, releases), 120)
    if out.returncode == 0:
        return
    if f"{MODULE}@{version}" not in out.stderr:  # e.g. the toolchain download failed: not the proxy's answer
        raise ProvisionError(
            f"could not ask the Go module proxy for {MODULE}@{version}: {out.stderr.strip()}"
        )
    reason = _reason(out.stderr).replace(f"go: {MODULE}@{version}: ", "")
    raise unavailable(version, reason, releases, published_versions(go))


def check_buildable(version: ServerVersion, releases: Releases | None = None) -> None:
    """A release the data knows does not build here (e.g. a dependency the proxy refuses) fails at once."""
    releases = releases or load_releases()
    reason = releases.unbuildable_reason(version)
    if reason is not None:
        raise ProvisionError(
            f"{MODULE}@{version} cannot be built here: {reason}. {_instead(version, releases.nearest(version))}"
        )


def _instead(version: ServerVersion, nearest: list[ServerVersion]) -> str:
    names = " and ".join(map(str, nearest)) or "none known"
    use = " (or ".join(map(str, nearest)) + (")" if len(nearest) > 1 else "") or DEFAULT_VERSION
    return (
        f"Nearest releases that build here: {names}. Pass --temporal-version {use}, or --temporal-binary "
        f"PATH for a {version} binary built elsewhere"
    )


def unavailable(
    version: ServerVersion, reason: str, releases: Releases, listed: list[ServerVersion]
) -> ProvisionError:
    nearest = releases.nearest(version, listed)
    if releases.is_refused(version):
        return ProvisionError(
            f"the Go module proxy refuses {MODULE}@{version} ({reason}): it cannot be built here. "
            + _instead(version, nearest)
        )
    names = " and ".join(map(str, nearest)) or "none known"
    return ProvisionError(
        f"unknown server version {version}: the Go module proxy does not serve {MODULE}@{version} "
        f"({reason}). Nearest releases it serves: {names}. Listed releases: "
        f"{', '.join(map(str, sorted(listed, key=lambda v: v.parts)[-12:]))} (newest last); "
        f"pass --temporal-version like {DEFAULT_VERSION}"
    )


def module_hashes(go: str, version: ServerVersion, releases: Releases | None = None) -> Pin:
    """Download the module (checksum database off if pinned) and return what the go command recorded."""
    releases = releases or load_releases()
    out = _run([go, "mod", "download", "-json", f"{MODULE}@{version}"], go_environment(version, releases))
    info = json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}
    if out.returncode != 0 or info.get("Error"):
        raise ProvisionError(
            f"could not download {MODULE}@{version}: {info.get('Error') or _reason(out.stderr)}"
            + checksum_hint(str(info.get("Error") or out.stderr))
        )
    return Pin(sum=str(info.get("Sum", "")), go_mod_sum=str(info.get("GoModSum", "")))


def verify_pin(go: str, version: ServerVersion, releases: Releases | None = None) -> None:
    """For a release the checksum database does not know: the module the build will use must have the
    hashes committed in fixtures/releases.yaml. Nothing to do for other releases."""
    releases = releases or load_releases()
    pin = releases.pin(version)
    if pin is None:
        return
    got = module_hashes(go, version, releases)
    if got != pin:
        raise ProvisionError(
            f"{MODULE}@{version} does not match the hashes pinned in fixtures/releases.yaml: downloaded "
            f"{got.sum} (go.mod {got.go_mod_sum}), pinned {pin.sum} (go.mod {pin.go_mod_sum}). Not building "
            f"it. If the module cache holds a bad copy, `go clean -modcache` and try again"
        )


def checksum_hint(stderr: str) -> str:
    if "sum.golang.org/lookup" in stderr and "404" in stderr:
        return (
            f"\nThe checksum database has no entry for this release: after checking it another way, pin "
            f"its h1: hashes in fixtures/releases.yaml (`GONOSUMDB={MODULE} go mod download -json "
            f"{MODULE}@VERSION` shows Sum and GoModSum)"
        )
    return ""
