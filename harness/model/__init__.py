"""The oracle: the server's default claim mapper and default authorizer as pure functions.

Imports nothing from the rest of harness/ except harness.types, and does no I/O. A suite asks the
model what *should* happen; it never asks the server first.
"""

from harness.model.apis import ApiTable, MethodRule, rule_for
from harness.model.authorizer import authorize
from harness.model.claims import Claims, KeyRing, PublishedKey, map_claims
from harness.model.decide import Credential, Expectation, expect
from harness.model.rules import AuthConfig, ServerRules, rules_for

__all__ = [
    "ApiTable",
    "AuthConfig",
    "Claims",
    "Credential",
    "Expectation",
    "KeyRing",
    "MethodRule",
    "PublishedKey",
    "ServerRules",
    "authorize",
    "expect",
    "map_claims",
    "rule_for",
    "rules_for",
]
