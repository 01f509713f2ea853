"""Merge several runs' conformance.json (one per server version: each names its own) into one version
matrix in --out: matrix.json, index.html (a version x requirement table, the grid by access class per
version, the decisions that changed between each pair of adjacent versions) and the gate's page of each
pair. Inputs are files or directories searched for conformance.json (a CI job's downloaded artifacts).

  temporal-authz matrix-merge runs/ --out matrix
Exit status: 0 merged, 4 bad input (no report, unreadable, two reports of one version)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", type=Path, nargs="+", metavar="DIR|FILE", help="reports or directories")
    parser.add_argument(
        "--out", type=Path, default=Path("matrix"), help="output directory (default ./matrix)"
    )


def run(args: argparse.Namespace) -> int:
    from harness.errors import HarnessConfigError
    from harness.report.matrix import MatrixError, write_matrix

    try:
        written = write_matrix(args.inputs, args.out)
    except MatrixError as exc:
        raise HarnessConfigError(f"matrix-merge: {exc}") from exc
    for path in written:
        print(f"wrote {path}")
    return 0
