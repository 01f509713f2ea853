"""Check a token profile: start a server of the profile's config (or use its external target), mint
each principal's token from its claims, probe every call of its intent, and print each difference between
intent and server as one line with the fix the model suggests.

Exit status 1 when anything differs that the profile does not list under expect_differences (or a listed
one does not show, or the model and the server disagree); 0 otherwise. JSON goes to --out."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from pathlib import Path

from harness.settings import DEFAULT_VERSION


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", type=Path, nargs="?", help="the profile (YAML; schema: fixtures/profiles/profile.schema.json)"
    )
    parser.add_argument(
        "--list-groups", action="store_true", help="print the API groups and their methods for the version"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("reports") / "profile.json",
        help="JSON result (default reports/profile.json)",
    )
    parser.add_argument(
        "--temporal-version",
        default=None,
        help=f"server version (default: the profile's, else {DEFAULT_VERSION})",
    )
    parser.add_argument(
        "--backend",
        default="process",
        choices=["process", "container", "auto"],
        help="how to run the server (default process)",
    )
    parser.add_argument(
        "--temporal-binary", default=None, help="use this server binary instead of the cached build"
    )
    target = parser.add_argument_group("external target (instead of the profile's server section)")
    target.add_argument("--target", default=None, help="HOST:PORT of a cluster running the profile's config")
    target.add_argument(
        "--external-signing-key", type=Path, default=None, help="PEM private key the cluster's JWKS trusts"
    )
    target.add_argument(
        "--external-kid", default="", help="kid of --external-signing-key in the cluster's JWKS"
    )
    target.add_argument("--target-tls", action="store_true", help="the target's frontend speaks TLS")
    target.add_argument("--target-ca", type=Path, default=None, help="PEM CA of the target's TLS")
    target.add_argument("--target-server-name", default="", help="TLS server name of the target")
    target.add_argument(
        "--target-plaintext",
        action="store_true",
        help="send tokens to a target off this machine without TLS (prints a warning)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="no server: the model's answers stand in for the server's"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    from harness.errors import HarnessConfigError
    from harness.profiles.check import run_profile
    from harness.profiles.dry_run import dry_run
    from harness.profiles.loader import load_profile
    from harness.profiles.profile import ExternalKeys
    from harness.profiles.report import lines, write_json
    from harness.profiles.servers import RunChoice

    if args.list_groups:
        return _list_groups(args.temporal_version or DEFAULT_VERSION)
    if args.path is None:
        raise HarnessConfigError("give a profile PATH (or --list-groups)")
    profile = load_profile(args.path, args.temporal_version)
    if args.target:
        if args.external_signing_key is None or not args.external_kid:
            raise HarnessConfigError("--target needs --external-signing-key PEM and --external-kid KID")
        keys = ExternalKeys(
            args.target,
            args.external_signing_key,
            args.external_kid,
            args.target_tls,
            args.target_ca,
            args.target_server_name,
        )
        profile = dataclasses.replace(profile, external=keys)

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"  .. {message}", file=sys.stderr)

    choice = RunChoice(
        version=args.temporal_version,
        backend=args.backend,
        binary=args.temporal_binary,
        plaintext=args.target_plaintext,
    )
    if args.dry_run:
        result = dry_run(profile, args.temporal_version)
    else:
        result = asyncio.run(run_profile(profile, choice, progress))
    write_json(result, args.out)
    print("\n".join(lines(result, args.out)))
    return result.exit_status


def _list_groups(version: str) -> int:
    from harness.api_tables import ApiTableMissing, load_table
    from harness.errors import HarnessConfigError
    from harness.profiles.groups import listing

    try:
        table = load_table(version)
    except ApiTableMissing as exc:
        raise HarnessConfigError(str(exc)) from exc
    print(f"API groups on {version} (derived from fixtures/api/{version}.json; exempt calls are in none):")
    print("\n".join(listing(table)))
    return 0
