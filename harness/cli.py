"""`temporal-authz`: one console command, one subcommand per job.

A subcommand is a module with `add_arguments(parser)` and `run(args) -> int`; add one by adding a line
to COMMANDS. Modules import their heavy dependencies inside `run`, so `--help` stays fast.

Exit status: 0 as intended, 1 differences found, 2 usage, 3 the server does not enforce authorization or
does not trust the keys, 4 bad input (the message names the file, line or option), 5 the harness broke.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import HarnessConfigError, HarnessError


@dataclass(frozen=True)
class Command:
    help: str
    module: str  # provides add_arguments(parser) and run(args) -> int
    # Options it does not know go on to pytest and the plugin (args.pytest_args), instead of an error.
    passes_pytest_options: bool = False


COMMANDS = {
    "profile": Command(
        "check a team's token profile against a server: intent vs what it allows", "harness.profiles.command"
    ),
    "explain": Command(
        "decode a token (never verified) and explain what the server derives and why",
        "harness.explain.command",
    ),
    "conformance": Command(
        "run the packaged conformance suites (pytest and plugin options pass through)",
        "harness.conformance.command",
        passes_pytest_options=True,
    ),
    "gate": Command(
        "upgrade gate: run the suites, diff their decisions against a baseline (exit 1 on any change)",
        "harness.report.gate_command",
        passes_pytest_options=True,
    ),
    "matrix-merge": Command(
        "merge several runs' conformance.json into one version matrix (matrix.json, index.html)",
        "harness.report.matrix_command",
    ),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="temporal-authz",
        description="Temporal JWT authorization: what a server grants your tokens, and why.",
        epilog=__doc__.split("\n\n")[-1],
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        module = importlib.import_module(command.module)
        each = sub.add_parser(
            name,
            help=command.help,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            # exact names only: an abbreviation of ours must not swallow a pytest option
            allow_abbrev=not command.passes_pytest_options,
        )
        module.add_arguments(each)
        each.set_defaults(run=module.run)
    return top


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The subcommand's arguments; for one that passes pytest options, the rest in args.pytest_args."""
    top = parser()
    args, rest = top.parse_known_args(argv)
    if rest and not COMMANDS[args.command].passes_pytest_options:
        top.error(f"unrecognized arguments: {' '.join(rest)}")
    args.pytest_args = [a for a in rest if a != "--"]  # `-- OPTIONS`, the nox habit, means the same here
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        status: int = args.run(args)
    except HarnessConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    except HarnessError as exc:
        print(f"harness error: {exc}", file=sys.stderr)
        return 5
    except RuntimeError as exc:
        # guard(): the server lets anonymous calls through, or refuses the harness's own keys.
        if type(exc).__name__ in ("AuthNotEnforced", "KeysNotTrusted"):
            print(f"FATAL: {exc}", file=sys.stderr)
            return 3
        raise
    return status


if __name__ == "__main__":
    raise SystemExit(main())
