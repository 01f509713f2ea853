"""Explain a token: decode it (never verified, never printed whole: header and claims only), check it as
the server's claim mapper would, and show what the server derives: roles per namespace, the system role,
and for each API group whether it is allowed and why (the model's reason). The signature cannot be checked
without keys: it is assumed to come from a trusted key unless --jwks gives the key set.

The token comes from --token, or stdin; or give its claims as JSON with --claims FILE (`-`: stdin).
The server's config comes from --profile and/or the --claim-name/--regex/--audience/--header-name options.
With --target HOST:PORT it also asks that live server (one harmless probe per group) and shows where the
model and the server differ."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from harness.settings import DEFAULT_VERSION


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--token", default=None, help="the token (or `Bearer <token>`); default: read from stdin"
    )
    source.add_argument(
        "--claims", default=None, help="a JSON file with the token's claims instead (`-`: stdin)"
    )
    parser.add_argument(
        "--temporal-version",
        default=None,
        help=f"server version (default: the profile's, else {DEFAULT_VERSION})",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="take the authorization config (and namespaces) from this profile",
    )
    config = parser.add_argument_group("authorization config (global.authorization; overrides --profile)")
    config.add_argument("--claim-name", default=None, help="permissionsClaimName (default permissions)")
    config.add_argument("--regex", default=None, help="permissionsRegex")
    config.add_argument("--audience", default=None, help="audience")
    config.add_argument("--header-name", default=None, help="authHeaderName (default authorization)")
    parser.add_argument(
        "--namespace",
        action="append",
        default=[],
        help="explain the groups in this namespace (repeatable; default: the token's)",
    )
    parser.add_argument(
        "--jwks", default=None, help="a JWKS file or URL: look the kid up and check the signature with it"
    )
    parser.add_argument(
        "--at", type=int, default=None, help="evaluate exp/nbf/iat at this Unix time (default: now)"
    )
    live = parser.add_argument_group("a live server")
    live.add_argument(
        "--target", default=None, help="HOST:PORT: also probe this server with the token, one call per group"
    )
    live.add_argument("--target-tls", action="store_true", help="the target's frontend speaks TLS")
    live.add_argument("--target-ca", type=Path, default=None, help="PEM CA of the target's TLS")
    live.add_argument("--target-server-name", default="", help="TLS server name of the target")
    live.add_argument(
        "--target-plaintext",
        action="store_true",
        help="send the token to a target off this machine without TLS (prints a warning)",
    )


def _read_claims(source: str) -> Any:
    from harness.errors import HarnessConfigError

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        return json.loads(text)
    except OSError as exc:
        raise HarnessConfigError(f"--claims {source}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise HarnessConfigError(f"--claims {source}: not JSON (line {exc.lineno}: {exc.msg})") from exc


def _authorization(args: argparse.Namespace) -> tuple[dict[str, str], str | None, list[str]]:
    """The config keys, the version and the namespaces, from --profile and then the explicit options."""
    from harness.profiles.loader import load_profile

    authorization: dict[str, str] = {}
    version, namespaces = None, list(args.namespace)
    if args.profile is not None:
        profile = load_profile(args.profile, args.temporal_version)
        authorization.update(profile.authorization)
        version = profile.version
        namespaces = namespaces or list(profile.all_namespaces())
    for key, value in (
        ("permissionsClaimName", args.claim_name),
        ("permissionsRegex", args.regex),
        ("audience", args.audience),
        ("authHeaderName", args.header_name),
    ):
        if value is not None:
            authorization[key] = value
    return authorization, args.temporal_version or version, namespaces


def run(args: argparse.Namespace) -> int:
    import asyncio

    from harness.api_tables import ApiTableMissing, load_table
    from harness.errors import HarnessConfigError
    from harness.explain.checks import token_checks
    from harness.explain.derive import derive
    from harness.explain.keys import assumed_trusted, from_jwks
    from harness.explain.live import probe_live
    from harness.explain.render import explain_lines
    from harness.explain.token import decode_unverified, from_claims
    from harness.profiles.oracle import ModelContext
    from harness.profiles.reading import read_claims
    from harness.server.config import ServerSettings
    from harness.server.external import ExternalTarget
    from harness.server.provision import parse_requested

    if args.claims is not None:
        decoded = from_claims(_read_claims(args.claims))
    else:
        text = args.token if args.token is not None else sys.stdin.read()
        if not text.strip():
            raise HarnessConfigError("no token: pass --token, pipe it on stdin, or give --claims FILE")
        decoded = decode_unverified(text)
    authorization, version_text, namespaces = _authorization(args)
    version = parse_requested(version_text or DEFAULT_VERSION)
    try:
        table = load_table(str(version))
    except ApiTableMissing as exc:
        raise HarnessConfigError(str(exc)) from exc
    ctx = ModelContext.of(version, table, ServerSettings(authorization=authorization).auth_config())
    now = args.at if args.at is not None else int(time.time())
    keys = from_jwks(decoded, args.jwks, ctx.rules.jose) if args.jwks else assumed_trusted(decoded)
    reading = read_claims(decoded.claims or {}, ctx, namespaces)
    named = [e.namespace for e in reading.entries if e.namespace and e.grants]
    chosen = list(dict.fromkeys(namespaces or named)) or ["default"]
    derivation = derive(decoded, keys, ctx, chosen, now)
    live = None
    if args.target:
        where = ExternalTarget(
            args.target,
            tls=args.target_tls,
            ca=args.target_ca,
            server_name=args.target_server_name,
            plaintext=args.target_plaintext,
        )
        warning = where.transport_check()
        if warning:
            print(warning, file=sys.stderr)
        live = (args.target, asyncio.run(probe_live(where, decoded, keys, ctx, chosen[0], now)))
    checks = token_checks(decoded, keys, reading, ctx, now)
    print("\n".join(explain_lines(decoded, ctx, checks, reading, derivation, live)))
    return 1 if live is not None and not all(p.agrees for p in live[1]) else 0
