"""Hypothesis strategies for claim payloads (moved to harness.fuzz.strategies; kept importable here).

`from harness.strategies import claim_payloads` still works; every other input class is in
harness.fuzz.strategies (token bytes, JWKS documents, permissionsRegex, namespace and role strings).
"""

from __future__ import annotations

from harness.fuzz.strategies.claims import (
    cased,
    claim_inputs,
    claim_payloads,
    namespaces,
    permission_entries,
    permissions_claims,
    roles,
    time_offsets,
)
from harness.fuzz.strategies.names import ROLE_WORDS

__all__ = [
    "ROLE_WORDS",
    "cased",
    "claim_inputs",
    "claim_payloads",
    "namespaces",
    "permission_entries",
    "permissions_claims",
    "roles",
    "time_offsets",
]
