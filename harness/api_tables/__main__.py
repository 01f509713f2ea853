"""`python -m harness.api_tables generate VERSION | generate-all [--force] [VERSION ...] | routes VERSION ...`"""

from __future__ import annotations

import sys

from harness.api_tables.generator import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
