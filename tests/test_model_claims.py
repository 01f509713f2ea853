"""Truth tables for the claim mapper model (default_jwt_claim_mapper.go + golang-jwt v4)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.model import AuthConfig, rules_for
from harness.model.claims import MapperError, claims_from_payload, map_claims, permission_to_role
from harness.types import Role
from tests.model_helpers import NOW, RING, seg, token

V132 = rules_for("v1.32.2")
V128 = rules_for("v1.28.4")
V121 = rules_for("v1.21.6")
V120 = rules_for("v1.20.5")
CFG = AuthConfig()


def claims(perms: Any, rules: Any = V132, cfg: AuthConfig = CFG) -> Any:
    return claims_from_payload({"sub": "s", "permissions": perms}, cfg, rules)


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("read", Role.READER),
        ("READ", Role.READER),
        ("Write", Role.WRITER),
        ("worker", Role.WORKER),
        ("admin", Role.ADMIN),
        ("owner", Role.UNDEFINED),
        ("", Role.UNDEFINED),
    ],
)
def test_role_names_are_case_insensitive(name: str, role: Role) -> None:
    assert permission_to_role(name) == role


def test_roles_are_ored_bits() -> None:
    c = claims(["ns:read", "ns:write", "ns:worker", "other:admin", "ns:read"])
    assert c.role_in("ns") == Role.READER | Role.WRITER | Role.WORKER == 7
    assert c.role_in("other") == Role.ADMIN == 8
    assert Role.UNDEFINED == 0 and Role.ADMIN != 16


@pytest.mark.parametrize(
    ("perms", "rules", "system", "namespaces"),
    [
        (["temporal-system:admin"], V132, Role.ADMIN, {}),
        (["system:admin"], V132, Role.UNDEFINED, {"system": Role.ADMIN}),
        (["system:admin"], V120, Role.ADMIN, {}),
        (["SYSTEM:read"], V120, Role.READER, {}),
        (["Temporal-System:admin"], V132, Role.UNDEFINED, {"Temporal-System": Role.ADMIN}),
        (["NS:read"], V132, Role.UNDEFINED, {"NS": Role.READER}),
        (["NS:read"], V120, Role.UNDEFINED, {"ns": Role.READER}),
        (["ns : read"], V132, Role.UNDEFINED, {"ns ": Role.UNDEFINED}),
        ([":read"], V132, Role.UNDEFINED, {"": Role.READER}),
        (["ns:"], V132, Role.UNDEFINED, {"ns": Role.UNDEFINED}),
        (["a:b:c"], V132, Role.UNDEFINED, {"a": Role.UNDEFINED}),  # SplitN: role "b:c" is unknown
        (["a:b:c"], V128, Role.UNDEFINED, {}),  # Split: three parts, ignored
        (["nocolon"], V132, Role.UNDEFINED, {}),
        ([1, None, {"ns": "read"}, ["ns:read"], "ns:read"], V132, Role.UNDEFINED, {"ns": Role.READER}),
    ],
)
def test_permission_entries(perms: Any, rules: Any, system: Role, namespaces: dict[str, Role]) -> None:
    c = claims(perms, rules)
    assert c.system == system
    assert dict(c.namespaces) == namespaces


@pytest.mark.parametrize("value", ["ns:admin", {"ns": "admin"}, 7, None, True])
def test_a_permissions_claim_that_is_not_an_array_is_ignored(value: Any) -> None:
    c = claims(value)
    assert c.system == Role.UNDEFINED and not c.namespaces


def test_claim_name_is_configurable() -> None:
    cfg = AuthConfig(permissions_claim_name="roles")
    c = claims_from_payload({"sub": "s", "roles": ["ns:write"], "permissions": ["ns:admin"]}, cfg, V132)
    assert c.role_in("ns") == Role.WRITER


@pytest.mark.parametrize(
    ("regex", "entry", "expected"),
    [
        (r"^temporal\.(?P<namespace>[\w-]+)\.(?P<role>\w+)$", "temporal.ns.write", {"ns": Role.WRITER}),
        (r"^temporal\.(?P<namespace>[\w-]+)\.(?P<role>\w+)$", "ns:write", {}),  # no match: skipped
        (r"(?P<namespace>[\w-]+)_(?P<role>\w+)", "x-ns_read", {"x-ns": Role.READER}),  # unanchored
        (r"(?P<namespace>\w+)-(?P<nope>\w+)", "ns:read", {"ns": Role.READER}),  # no role group: split
        (r"(?P<namespace>[", "ns:read", {"ns": Role.READER}),  # invalid: split
    ],
)
def test_permissions_regex(regex: str, entry: str, expected: dict[str, Role]) -> None:
    cfg = AuthConfig(permissions_regex=regex)
    assert dict(claims([entry], V132, cfg).namespaces) == expected


def test_permissions_regex_system_scope_and_old_versions() -> None:
    cfg = AuthConfig(permissions_regex=r"^(?P<namespace>[\w-]+)\.(?P<role>\w+)$")
    assert claims(["temporal-system.admin"], V132, cfg).system == Role.ADMIN
    assert dict(claims(["ns.read"], V128, cfg).namespaces) == {}  # 1.28 has no regex: "ns.read" has no colon


@pytest.mark.parametrize("sub", [None, 7, ["a"], {"a": 1}])
def test_sub_must_be_a_string(sub: Any) -> None:
    payload: dict[str, Any] = {"permissions": []} if sub is None else {"sub": sub}
    with pytest.raises(MapperError, match="sub"):
        claims_from_payload(payload, CFG, V132)


def test_empty_sub_is_a_string() -> None:
    assert claims_from_payload({"sub": ""}, CFG, V132).subject == ""


def _map(
    header_value: str, signed_by: str | None = "fp-rsa", cfg: AuthConfig = CFG, rules: Any = V132
) -> Any:
    return map_claims(header_value, signed_by, RING, cfg, rules, NOW)


GOOD = token({"sub": "s", "permissions": ["ns:read"], "exp": NOW + 60})


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_is_case_insensitive(scheme: str) -> None:
    assert _map(f"{scheme} {GOOD}").role_in("ns") == Role.READER


@pytest.mark.parametrize(
    "value", [GOOD, f"Basic {GOOD}", f"Bearer  {GOOD}", f"Bearer{GOOD}", f"Bearer {GOOD} ", f" Bearer {GOOD}"]
)
def test_malformed_authorization_values_are_refused(value: str) -> None:
    with pytest.raises(MapperError):
        _map(value)


@pytest.mark.parametrize("rules", [V128, V132])
def test_two_spaces_fail_in_both_eras(rules: Any) -> None:
    with pytest.raises(MapperError):
        _map(f"Bearer  {GOOD}", rules=rules)


@pytest.mark.parametrize(
    ("payload", "ok"),
    [
        ({"exp": NOW + 1}, True),
        ({"exp": NOW}, False),  # exp == now is expired: no leeway
        ({"exp": NOW - 1}, False),
        ({"exp": NOW + 0.9}, False),  # truncated to whole seconds
        ({"exp": 0}, True),  # 0 counts as absent
        ({"exp": "9999999999"}, False),  # a string is invalid
        ({"exp": None}, False),
        ({}, True),  # no exp: never expires
        ({"nbf": NOW}, True),
        ({"nbf": NOW + 1}, False),
        ({"iat": NOW + 1}, False),
        ({"iat": NOW}, True),
        ({"iss": "https://anyone"}, True),  # iss is never checked
        ({"aud": "other-app"}, True),  # aud is not checked unless configured
    ],
)
def test_registered_time_claims(payload: dict[str, Any], ok: bool) -> None:
    value = "Bearer " + token({"sub": "s", **payload})
    if ok:
        _map(value)
    else:
        with pytest.raises(MapperError):
            _map(value)


@pytest.mark.parametrize(
    ("header", "signed_by", "ok"),
    [
        ({"alg": "RS256", "kid": "k-rsa"}, "fp-rsa", True),
        ({"alg": "ES256", "kid": "k-ec"}, "fp-ec", True),
        ({"alg": "RS256", "kid": "k-rsa", "crit": ["exp"], "jku": "http://x"}, "fp-rsa", True),  # ignored
        ({"alg": "RS256", "kid": "k-rsa"}, None, False),  # forged signature
        ({"alg": "RS256", "kid": "k-ec"}, "fp-ec", False),  # EC kid on an RS256 token: no RSA key
        ({"alg": "ES256", "kid": "k-rsa"}, "fp-rsa", False),
        ({"alg": "RS256", "kid": "unknown"}, "fp-rsa", False),
        ({"alg": "RS256"}, "fp-rsa", False),  # kid is required
        ({"alg": "RS256", "kid": 7}, "fp-rsa", False),
        ({"alg": "HS256", "kid": "k-rsa"}, "fp-rsa", False),
        ({"alg": "none", "kid": "k-rsa"}, "fp-rsa", False),
        ({"alg": "rs256", "kid": "k-rsa"}, "fp-rsa", False),
        ({"alg": "PS256", "kid": "k-rsa"}, "fp-rsa", False),
        ({"alg": "ES384", "kid": "k-ec"}, "fp-ec", False),
        ({"alg": "EdDSA", "kid": "k-ec"}, "fp-ec", False),
        ({"kid": "k-rsa"}, "fp-rsa", False),
    ],
)
def test_header_rules(header: dict[str, Any], signed_by: str | None, ok: bool) -> None:
    value = "Bearer " + token({"sub": "s"}, header)
    if ok:
        _map(value, signed_by)
    else:
        with pytest.raises(MapperError):
            _map(value, signed_by)


def test_structure_rules() -> None:
    h, p = seg({"alg": "RS256", "kid": "k-rsa"}), seg({"sub": "s"})
    for broken in (f"{h}.{p}", f"{h}.{p}.sig.extra", f"{h}=.{p}.sig", f"{h}.{seg([1])}.sig", f"{h}.{p}!.sig"):
        with pytest.raises(MapperError):
            _map("Bearer " + broken)


@pytest.mark.parametrize(
    ("aud", "ok"),
    [
        ("app", True),
        (["x", "app"], True),
        ("APP", False),
        (None, False),
        ([], False),
        ([""], False),
        (["app", 1], False),
        (7, False),
    ],
)
def test_audience_when_configured(aud: Any, ok: bool) -> None:
    payload: dict[str, Any] = {"sub": "s"} if aud is None else {"sub": "s", "aud": aud}
    cfg = AuthConfig(audience="app")
    value = "Bearer " + token(payload)
    if ok:
        _map(value, cfg=cfg)
    else:
        with pytest.raises(MapperError, match="audience"):
            _map(value, cfg=cfg)
    _map("Bearer " + token({"sub": "s", "aud": "other"}), cfg=cfg, rules=V128)  # 1.28: never checked
