"""The server a profile is checked against: one the harness starts with the profile's config (trusting
the harness's JWKS), or the external target the profile names (signed for with the cluster's key)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from harness.api_tables.generator import load_or_generate
from harness.errors import HarnessConfigError
from harness.jwks.timeline import StaticKeys
from harness.profiles.formats import PermissionFormat, express
from harness.profiles.oracle import ModelContext
from harness.profiles.profile import Profile
from harness.profiles.result import format_for
from harness.server.external import ExternalBackend, ExternalTarget
from harness.server.pool import RunOptions, ServerPool, _load_signing_key
from harness.server.provision import parse_requested
from harness.server.setup import guard
from harness.server.target import Target
from harness.settings import DEFAULT_VERSION
from harness.types import Role

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunChoice:
    """Command-line overrides: the version, and how to run a server of the profile's config."""

    version: str | None = None
    backend: str = "process"
    binary: str | None = None
    plaintext: bool = False  # --target-plaintext: a target off this machine without TLS, knowingly


def admin_permission(fmt: PermissionFormat, ctx: ModelContext) -> str:
    """The harness's setup token (it registers the namespaces) in the profile's format."""
    text = express(fmt, ctx.rules.system_scope, Role.ADMIN, ctx) if fmt.template else None
    if text is None:
        raise HarnessConfigError(
            f"the harness cannot write `{ctx.rules.system_scope}:admin` in this profile's permission format "
            f"({fmt.origin}), so it cannot register the namespaces: declare server.permission_format"
        )
    return text


@contextlib.asynccontextmanager
async def profile_target(profile: Profile, choice: RunChoice, progress: Progress) -> AsyncIterator[Target]:
    if profile.external is not None:
        yield await _external(profile, choice)
        return
    version = parse_requested(choice.version or profile.version or DEFAULT_VERSION)
    options = RunOptions(version=version, backend=choice.backend, binary=choice.binary)
    pool = ServerPool(options, progress=progress)
    try:
        await pool.open()
        assert pool.table is not None and pool.jwks is not None
        ctx = ModelContext.of(version, pool.table, profile.auth_config())
        settings = profile.settings(admin_permission(format_for(profile, ctx), ctx))
        async with pool.dedicated(settings, pool.jwks, namespaces=profile.all_namespaces()) as target:
            yield target
    finally:
        await pool.close()
        pool.remove_directories(all_of_them=True)


async def _external(profile: Profile, choice: RunChoice) -> Target:
    keys = profile.external
    assert keys is not None
    fallback = parse_requested(choice.version or profile.version or DEFAULT_VERSION)
    where = ExternalTarget(
        keys.target, tls=keys.tls, ca=keys.ca, server_name=keys.server_name, plaintext=choice.plaintext
    )
    warning = where.transport_check()
    if warning:
        print(warning, file=sys.stderr)
    running = await ExternalBackend(where, fallback).attach()
    signing = _load_signing_key(keys.signing_key, keys.kid)
    table = load_or_generate(str(running.version))
    ctx = ModelContext.of(running.version, table, profile.auth_config())
    target = Target(
        running=running,
        settings=profile.settings(admin_permission(format_for(profile, ctx), ctx)),
        table=table,
        keys=StaticKeys((signing.published(),)),
        signing_key=signing,
        tls=where.tls_config(),
        name="external",
    )
    # Not the harness's cluster (no rendered config): the Target's gate refuses destructive calls on the
    # user's namespaces, and the key it trusts signs only tokens that expire within minutes.
    await guard(target)  # read-only: an anonymous call must be refused, and the key trusted
    return target


def describe_target(target: Target, profile: Profile) -> dict[str, Any]:
    return {
        "version": str(target.version),
        "backend": target.running.backend,
        "address": target.address,
        "keys": "external signing key" if profile.external else "the harness's JWKS",
        "authorization": dict(profile.authorization),
    }
