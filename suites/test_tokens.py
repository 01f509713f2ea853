"""What is refused: registered claims, header and signature attacks, header shapes, permission shapes.

Every case sends an exempt call, read, write, admin and cluster-read calls with one credential and
compares each with the model. The exempt call tells a refused token (DENIED there too) from an accepted
token that grants nothing (ALLOWED there).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from harness.cases.calls import role_calls
from harness.cases.evidence import Evidence, check
from harness.cases.recipes import token
from harness.cases.runner import Case, accepted, observe, refused, run_case
from harness.pytest_plugin import rows
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens import forge
from harness.tokens.keys import ec_key, rsa_key
from harness.tokens.mint import UNBOUNDED_ON_TARGET, MintedToken, TokenSpec, mint
from harness.tokens.presentation import BEARER, Header, Presentation, under, value_shape
from harness.wait import clock_reaches

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
WRITE = [f"{NS}:write"]
DECOY_PATH = "/decoy.json"
ATTACKER = rsa_key(kid="attacker")
P384 = ec_key(kid="harness-ec", curve="P-384")
WRITER = token(*WRITE)

Recipe = Callable[[Target], MintedToken]


def spec(**kwargs: Any) -> TokenSpec:
    """A token spec (data): WRITE unless the case names other permissions."""
    return TokenSpec(permissions=kwargs.pop("permissions", WRITE), **kwargs)


def minted(**kwargs: Any) -> Recipe:
    """A token recipe (data) of any claim shape, signed by the server's key."""
    return lambda t: mint(spec(claim_name=t.auth_config.permissions_claim_name, **kwargs), t.signing_key)


def no_roles(observed: Any) -> bool:
    """A finding (data): the token got in and granted nothing."""
    return bool(observed.refused_all_but_exempt())


CASES = [
    # -- registered claims ------------------------------------------------------------------------
    Case("AUTHZ-TOKEN-001", "ExpInThePast", minted(exp_in=-30)),
    Case("AUTHZ-TOKEN-003", "ExpFarFuture", minted(exp_in=60 * 60 * 24 * 365 * 70)),
    Case("AUTHZ-TOKEN-004", "NoExp", minted(exp_in=None), finding=accepted),
    Case("AUTHZ-TOKEN-005", "NbfInTheFuture", minted(nbf_in=120)),
    Case("AUTHZ-TOKEN-006", "IatInTheFuture", minted(iat_in=120)),
    Case("AUTHZ-TOKEN-007", "NoSub", minted(omit_sub=True)),
    Case("AUTHZ-TOKEN-008", "EmptySub", minted(sub="")),
    Case("AUTHZ-TOKEN-009", "NumericSub", minted(sub=42)),
    Case("AUTHZ-TOKEN-009", "ObjectSub", minted(sub={"id": "x"})),
    Case("AUTHZ-TOKEN-010", "AudNotConfigured", minted(aud="some-other-app"), finding=accepted),
    Case("AUTHZ-TOKEN-011", "AnyIss", minted(iss="https://evil.example/realms/x")),
    Case("AUTHZ-TOKEN-012", "ExpAsString", minted(extra={"exp": "9999999999"})),
    # -- header and signature attacks -------------------------------------------------------------
    *[
        Case("AUTHZ-JWT-001", f"AlgNone_{alg}", lambda t, a=alg: forge.alg_none(t.signing_key, spec(), a))
        for alg in ("none", "None", "NONE", "nOnE")
    ],
    Case("AUTHZ-JWT-002", "HS256WithRsaPublicKey", lambda t: forge.hs256_with_public_key(t.signing_key, spec())),
    *[
        Case("AUTHZ-JWT-003", f"Alg{alg}", lambda t, a=alg: forge.other_alg(t.signing_key, spec(), a), finding=refused)
        for alg in ("RS384", "RS512", "PS256")
    ],
    Case("AUTHZ-JWT-003", "AlgES384", lambda t: forge.other_alg(P384, spec(), "ES384"), finding=refused),
    Case("AUTHZ-JWT-003", "AlgEdDSA", lambda t: forge.eddsa("harness-ec", spec())[0], finding=refused),
    Case("AUTHZ-JWT-004", "ES256NamingAnRsaKid", lambda t: forge.with_kid(t.key_of("EC"), spec(), t.key_of("RSA").kid)),
    Case("AUTHZ-JWT-005", "UnknownKid", lambda t: forge.with_kid(t.signing_key, spec(), "no-such-kid")),
    Case("AUTHZ-JWT-006", "MissingKid", lambda t: forge.with_kid(t.signing_key, spec(), None)),
    Case("AUTHZ-JWT-007", "EmptyKid", lambda t: forge.with_kid(t.signing_key, spec(), "")),
    Case("AUTHZ-JWT-007", "NumericKid", lambda t: forge.with_kid(t.signing_key, spec(), 7)),
    Case(
        "AUTHZ-JWT-008",
        "TamperedPayload",
        lambda t: forge.tampered_payload(t.mint([f"{NS}:read"]), {"permissions": ["temporal-system:admin"]}),
    ),
    Case("AUTHZ-JWT-009", "StrippedSignature", lambda t: forge.resigned_segment(WRITER(t), "")),
    Case("AUTHZ-JWT-009", "BlankSignature", lambda t: forge.resigned_segment(WRITER(t), "AAAA")),
    Case("AUTHZ-JWT-009", "TruncatedSignature", lambda t: forge.truncated_signature(WRITER(t))),
    Case("AUTHZ-JWT-010", "PaddedBase64", lambda t: forge.padded(WRITER(t))),
    Case("AUTHZ-JWT-011", "EcdsaZeroSignature", lambda t: forge.zero_ecdsa_signature(t.key_of("EC"), spec())),
    Case("AUTHZ-JWT-012", "ExtraSegment", lambda t: forge.extra_segment(WRITER(t))),
    *[
        Case(
            "AUTHZ-JWT-013",
            f"{name}ToDecoy{'_RealKid' if real else ''}",
            lambda t, extra=extra, real=real: forge.attacker_with_header(
                ATTACKER, spec(), extra(t), t.signing_key.kid if real else ATTACKER.kid
            ),
        )
        for name, extra in (
            ("Jku", lambda t: {"jku": t.jwks.url(DECOY_PATH) if t.jwks else "http://127.0.0.1:1/x"}),
            ("X5u", lambda t: {"x5u": t.jwks.url(DECOY_PATH) if t.jwks else "http://127.0.0.1:1/x"}),
            ("EmbeddedJwk", lambda t: {"jwk": ATTACKER.public_jwk()}),
        )
        for real in (False, True)
    ],
    Case(
        "AUTHZ-JWT-014",
        "CritHeaderIgnored",
        lambda t: forge.signed_raw(
            t.signing_key,
            {"alg": t.signing_key.alg, "kid": t.signing_key.kid, "crit": ["x-must-understand"], "x-must-understand": 1},
            forge.payload_for(spec(), key=t.signing_key),
        ),
        finding=accepted,
    ),
    Case(
        "AUTHZ-JWT-015",
        "DuplicateClaimKeysLastWins",
        lambda t: forge.duplicate_claim_keys(t.signing_key, [f"{NS}:read"], [f"{NS}:admin"]),
    ),
    Case("AUTHZ-JWT-016", "LargeToken64KiB", lambda t: forge.large(t.signing_key, NS, 2600)),
    # -- how the token is carried -----------------------------------------------------------------
    *[
        Case("AUTHZ-HEADER-001", f"Scheme_{s}", WRITER, value_shape(scheme=s))
        for s in (BEARER.lower(), BEARER.upper(), "bEaReR")
    ],
    Case("AUTHZ-HEADER-002", "NoScheme", WRITER, value_shape(scheme=None)),
    Case("AUTHZ-HEADER-003", "BasicScheme", WRITER, value_shape(scheme="Basic")),
    Case("AUTHZ-HEADER-003", "JwtScheme", WRITER, value_shape(scheme="JWT")),
    Case("AUTHZ-HEADER-004", "TwoSpaces", WRITER, value_shape(separator="  ")),
    Case("AUTHZ-HEADER-004", "NoSpace", WRITER, value_shape(separator="")),
    Case("AUTHZ-HEADER-005", "TrailingWhitespace", WRITER, value_shape(suffix=" ")),
    Case("AUTHZ-HEADER-005", "TrailingTab", WRITER, value_shape(suffix="\t")),
    Case("AUTHZ-HEADER-006", "EmptyValue", WRITER, value_shape(empty=True)),
    Case("AUTHZ-HEADER-007", "OtherHeaderName", WRITER, under("x-authorization")),
    Case("AUTHZ-HEADER-007", "ExtrasHeaderOnly", WRITER, under("authorization-extras")),
    Case("AUTHZ-HEADER-008", "ValidThenInvalid", WRITER, Presentation((Header(), Header(text="not-a-token")))),
    Case("AUTHZ-HEADER-008", "InvalidThenValid", WRITER, Presentation((Header(text="not-a-token"), Header()))),
    # -- permissions claim shapes -----------------------------------------------------------------
    Case("AUTHZ-CLAIMS-001", "PermissionsAsString", minted(permissions=f"{NS}:admin"), finding=no_roles),
    Case("AUTHZ-CLAIMS-001", "PermissionsAsObject", minted(permissions={NS: "admin"}), finding=no_roles),
    Case("AUTHZ-CLAIMS-002", "MixedArray", minted(permissions=[1, None, {"ns": NS}, [f"{NS}:admin"], True, f"{NS}:read"])),
    Case("AUTHZ-CLAIMS-003", "ThreeParts", minted(permissions=[f"{NS}:write:extra"])),
    Case("AUTHZ-CLAIMS-009", "NoColon", minted(permissions=[NS, f"{NS}write"])),
    Case("AUTHZ-CLAIMS-004", "EmptyNamespace", minted(permissions=[":admin"])),
    Case("AUTHZ-CLAIMS-004", "EmptyRole", minted(permissions=[f"{NS}:"])),
    Case("AUTHZ-CLAIMS-005", "SpacesAroundColon", minted(permissions=[f"{NS} : write"]), finding=no_roles),
    Case("AUTHZ-CLAIMS-006", "UpperCaseNamespace", minted(permissions=[f"{NS.upper()}:write"])),
    Case("AUTHZ-CLAIMS-006", "UpperCaseRole", minted(permissions=[f"{NS}:WRITE"])),
    Case("AUTHZ-CLAIMS-006", "UpperCaseSystemScope", minted(permissions=["TEMPORAL-SYSTEM:admin"])),
    Case("AUTHZ-CLAIMS-007", "UnknownRoles", minted(permissions=[f"{NS}:owner", f"{NS}:readwrite", f"{NS}:*"])),
    Case("AUTHZ-CLAIMS-008", "DuplicatesOred", minted(permissions=[f"{NS}:read", f"{NS}:worker", f"{NS}:read", f"{NS}:admin"])),
]  # fmt: skip


# Tokens that never expire (or not for 70 years), or whose exp no verifier reads as a number: signed with a
# key a cluster the harness does not own trusts, they would be credentials for good. Own servers only.
UNBOUNDED = {"ExpFarFuture", "NoExp", "ExpAsString"}


def _rows(cases: list[Case]) -> list[Any]:
    """The cases' rows (data), the unbounded ones marked for own servers only."""
    return [
        pytest.param(*p.values, marks=[*p.marks, pytest.mark.own_server_only(UNBOUNDED_ON_TARGET)], id=p.id)
        if p.values[0].name in UNBOUNDED
        else p
        for p in rows(cases)
    ]


@pytest.fixture(scope="module")
def decoy(target: Target) -> None:
    """Serve the attacker's key at a decoy path of the fixture, and let two of this server's refreshes
    pass: a server that (wrongly) trusted the decoy would hold the attacker's key by then."""
    if target.jwks is None:
        return
    target.jwks.replace([ATTACKER], path=DECOY_PATH)
    target.jwks.wait_for_fetches(2, after=time.monotonic(), deadline=30, client=target.name)


@pytest.mark.parametrize("case", _rows(CASES))
async def test_case(case: Case, target: Target, evidence: Evidence, decoy: None) -> None:
    await run_case(target, case, evidence)
    if case.req == "AUTHZ-JWT-013" and target.jwks is not None:
        fetched = target.jwks.fetches(DECOY_PATH)
        evidence.extra["decoy_fetches"] = len(fetched)
        assert fetched == [], "the server fetched the key set a token's header pointed at"


@pytest.mark.req("AUTHZ-TOKEN-002")
async def test_exp_equal_to_now_is_expired(target: Target, evidence: Evidence) -> None:
    """No leeway: a token is valid while now < exp, in whole seconds. One second before, it works.

    Each step must run inside its second (exp-1, then exp); under load a step that spills over is
    repeated with a fresh token, so the verdict never depends on the machine's speed."""
    calls = role_calls(NS)[:2]
    for _attempt in range(10):
        boundary = int(time.time()) + 2
        token = mint(TokenSpec(permissions=WRITE, exp_in=None, extra={"exp": boundary}), target.signing_key)
        await clock_reaches(boundary - 1, what="one second before exp")
        before = await observe(target, calls, token)
        await clock_reaches(boundary, what="exp")
        at = await observe(target, calls, token)
        windows = [a.question.window.seconds() for run in (before, at) for a in run.asked]  # type: ignore[attr-defined]
        if all(w == range(boundary - 1, boundary) for w in windows[: len(calls)]) and all(
            w == range(boundary, boundary + 1) for w in windows[len(calls) :]
        ):
            break
    else:
        pytest.fail("could not run a step within one second in 10 attempts", pytrace=False)
    evidence.expected = {"now=exp-1": before.expected, "now=exp": at.expected}
    evidence.observed = {"now=exp-1": before.observed.outcomes, "now=exp": at.observed.outcomes}
    evidence.claims, evidence.api, evidence.namespace = (
        token.evidence(),
        "GetSystemInfo, DescribeNamespace",
        NS,
    )
    evidence.asked.extend(before.asked + at.asked)
    check(evidence)
