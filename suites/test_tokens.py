"""What is refused: registered claims, header and signature attacks, header shapes, permission shapes.

Every case sends read, write, admin and cluster-read calls with one credential and compares each with
the model; expectations come from the model, never from first asking the server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from harness import forge
from harness.compare import Call, bearer_credential, compare, fill, raw_credential, role_calls
from harness.keys import ec_key, rsa_key
from harness.model import Credential
from harness.raw_grpc import probe_with_headers
from harness.target import SUITE_NAMESPACE, Target
from harness.tokens import MintedToken, TokenSpec, mint
from harness.types import Outcome
from harness.verdict import Evidence, check, expected_outcome
from harness.wait import clock_reaches

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
WRITE = [f"{NS}:write"]
DECOY_PATH = "/decoy.json"

Built = tuple[Credential, dict[str, str], Any]


@dataclass(frozen=True)
class Case:
    req: str
    name: str
    build: Callable[[Target], Built]
    # What the case is about, checked on top of model agreement (None: model agreement only).
    accepted: bool | None = None

    @property
    def id(self) -> str:
        return f"{self.req}-{self.name}"


def bearer(make: Callable[[Target], MintedToken]) -> Callable[[Target], Built]:
    def build(target: Target) -> Built:
        token = make(target)
        credential, metadata = bearer_credential(token)
        return credential, metadata, token

    return build


def spec(**kwargs: Any) -> TokenSpec:
    return TokenSpec(permissions=kwargs.pop("permissions", WRITE), **kwargs)


def minted(**kwargs: Any) -> Callable[[Target], Built]:
    return bearer(lambda t: mint(spec(**kwargs), t.signing_key))


def header(name: str, value: Callable[[str], str], signed: bool = True) -> Callable[[Target], Built]:
    def build(target: Target) -> Built:
        token = target.mint(WRITE)
        headers = [(name, value(token.token))]
        credential, metadata = raw_credential(headers, token.signed_by if signed else None)
        return credential, metadata, token

    return build


ATTACKER = rsa_key(kid="attacker")
P384 = ec_key(kid="harness-ec", curve="P-384")

CASES = [
    # -- registered claims ------------------------------------------------------------------------
    Case("AUTHZ-TOKEN-001", "ExpInThePast", minted(exp_in=-30), accepted=False),
    Case("AUTHZ-TOKEN-003", "ExpFarFuture", minted(exp_in=60 * 60 * 24 * 365 * 70), accepted=True),
    Case("AUTHZ-TOKEN-004", "NoExp", minted(exp_in=None), accepted=True),
    Case("AUTHZ-TOKEN-005", "NbfInTheFuture", minted(nbf_in=120), accepted=False),
    Case("AUTHZ-TOKEN-006", "IatInTheFuture", minted(iat_in=120), accepted=False),
    Case("AUTHZ-TOKEN-007", "NoSub", minted(omit_sub=True), accepted=False),
    Case("AUTHZ-TOKEN-008", "EmptySub", minted(sub=""), accepted=True),
    Case("AUTHZ-TOKEN-009", "NumericSub", minted(sub=42), accepted=False),
    Case("AUTHZ-TOKEN-009", "ObjectSub", minted(sub={"id": "x"}), accepted=False),
    Case("AUTHZ-TOKEN-010", "AudNotConfigured", minted(aud="some-other-app"), accepted=True),
    Case("AUTHZ-TOKEN-011", "AnyIss", minted(iss="https://evil.example/realms/x"), accepted=True),
    Case("AUTHZ-TOKEN-012", "ExpAsString", minted(extra={"exp": "9999999999"}), accepted=False),
    # -- header and signature attacks -------------------------------------------------------------
    *[
        Case(
            "AUTHZ-JWT-001",
            f"AlgNone_{alg}",
            bearer(lambda t, a=alg: forge.alg_none(t.signing_key, spec(), a)),
            False,
        )
        for alg in ("none", "None", "NONE", "nOnE")
    ],
    Case(
        "AUTHZ-JWT-002",
        "HS256WithRsaPublicKey",
        bearer(lambda t: forge.hs256_with_public_key(t.signing_key, spec())),
        False,
    ),
    *[
        Case(
            "AUTHZ-JWT-003",
            f"Alg{alg}",
            bearer(lambda t, a=alg: forge.other_alg(t.signing_key, spec(), a)),
            False,
        )
        for alg in ("RS384", "RS512", "PS256")
    ],
    Case("AUTHZ-JWT-003", "AlgES384", bearer(lambda t: forge.other_alg(P384, spec(), "ES384")), False),
    Case("AUTHZ-JWT-003", "AlgEdDSA", bearer(lambda t: forge.eddsa("harness-ec", spec())[0]), False),
    Case(
        "AUTHZ-JWT-004",
        "ES256NamingAnRsaKid",
        bearer(lambda t: forge.with_kid(t.key_of("EC"), spec(), t.key_of("RSA").kid)),
        False,
    ),
    Case(
        "AUTHZ-JWT-005",
        "UnknownKid",
        bearer(lambda t: forge.with_kid(t.signing_key, spec(), "no-such-kid")),
        False,
    ),
    Case("AUTHZ-JWT-006", "MissingKid", bearer(lambda t: forge.with_kid(t.signing_key, spec(), None)), False),
    Case("AUTHZ-JWT-007", "EmptyKid", bearer(lambda t: forge.with_kid(t.signing_key, spec(), "")), False),
    Case("AUTHZ-JWT-007", "NumericKid", bearer(lambda t: forge.with_kid(t.signing_key, spec(), 7)), False),
    Case(
        "AUTHZ-JWT-008",
        "TamperedPayload",
        bearer(
            lambda t: forge.tampered_payload(
                t.mint([f"{NS}:read"]), {"permissions": ["temporal-system:admin"]}
            )
        ),
        False,
    ),
    Case(
        "AUTHZ-JWT-009",
        "StrippedSignature",
        bearer(lambda t: forge.resigned_segment(t.mint(WRITE), "")),
        False,
    ),
    Case(
        "AUTHZ-JWT-009",
        "BlankSignature",
        bearer(lambda t: forge.resigned_segment(t.mint(WRITE), "AAAA")),
        False,
    ),
    Case(
        "AUTHZ-JWT-009",
        "TruncatedSignature",
        bearer(lambda t: forge.truncated_signature(t.mint(WRITE))),
        False,
    ),
    Case("AUTHZ-JWT-010", "PaddedBase64", bearer(lambda t: forge.padded(t.mint(WRITE))), False),
    Case(
        "AUTHZ-JWT-011",
        "EcdsaZeroSignature",
        bearer(lambda t: forge.zero_ecdsa_signature(t.key_of("EC"), spec())),
        False,
    ),
    Case("AUTHZ-JWT-012", "ExtraSegment", bearer(lambda t: forge.extra_segment(t.mint(WRITE))), False),
    *[
        Case(
            "AUTHZ-JWT-013",
            f"{name}ToDecoy{'_RealKid' if real else ''}",
            bearer(
                lambda t, extra=extra, real=real: forge.attacker_with_header(
                    ATTACKER, spec(), extra(t), "harness-rsa" if real else ATTACKER.kid
                )
            ),
            False,
        )
        for name, extra in (
            ("Jku", lambda t: {"jku": t.jwks.url(DECOY_PATH)}),
            ("X5u", lambda t: {"x5u": t.jwks.url(DECOY_PATH)}),
            ("EmbeddedJwk", lambda t: {"jwk": ATTACKER.public_jwk()}),
        )
        for real in (False, True)
    ],
    Case(
        "AUTHZ-JWT-014",
        "CritHeaderIgnored",
        bearer(
            lambda t: forge.signed_raw(
                t.signing_key,
                {
                    "alg": "RS256",
                    "kid": t.signing_key.kid,
                    "crit": ["x-must-understand"],
                    "x-must-understand": 1,
                },
                forge.payload_for(spec()),
            )
        ),
        True,
    ),
    Case(
        "AUTHZ-JWT-015",
        "DuplicateClaimKeysLastWins",
        bearer(lambda t: forge.duplicate_claim_keys(t.signing_key, [f"{NS}:read"], [f"{NS}:admin"])),
        True,
    ),
    Case("AUTHZ-JWT-016", "LargeToken64KiB", bearer(lambda t: forge.large(t.signing_key, NS, 2600)), True),
    # -- authorization header shapes --------------------------------------------------------------
    *[
        Case("AUTHZ-HEADER-001", f"Scheme_{s}", header("authorization", lambda tok, s=s: f"{s} {tok}"), True)
        for s in ("bearer", "BEARER", "bEaReR")
    ],
    Case("AUTHZ-HEADER-002", "NoScheme", header("authorization", lambda tok: tok), False),
    Case("AUTHZ-HEADER-003", "BasicScheme", header("authorization", lambda tok: f"Basic {tok}"), False),
    Case("AUTHZ-HEADER-003", "JwtScheme", header("authorization", lambda tok: f"JWT {tok}"), False),
    Case("AUTHZ-HEADER-004", "TwoSpaces", header("authorization", lambda tok: f"Bearer  {tok}"), False),
    Case("AUTHZ-HEADER-004", "NoSpace", header("authorization", lambda tok: f"Bearer{tok}"), False),
    Case("AUTHZ-HEADER-005", "TrailingWhitespace", header("authorization", lambda tok: f"Bearer {tok} ")),
    Case("AUTHZ-HEADER-005", "TrailingTab", header("authorization", lambda tok: f"Bearer {tok}\t")),
    Case("AUTHZ-HEADER-006", "EmptyValue", header("authorization", lambda tok: ""), False),
    Case(
        "AUTHZ-HEADER-007", "OtherHeaderName", header("x-authorization", lambda tok: f"Bearer {tok}"), False
    ),
    Case(
        "AUTHZ-HEADER-007",
        "ExtrasHeaderOnly",
        header("authorization-extras", lambda tok: f"Bearer {tok}"),
        False,
    ),
    # -- permissions claim shapes -----------------------------------------------------------------
    Case("AUTHZ-CLAIMS-001", "PermissionsAsString", minted(permissions=f"{NS}:admin"), None),
    Case("AUTHZ-CLAIMS-001", "PermissionsAsObject", minted(permissions={NS: "admin"}), None),
    Case(
        "AUTHZ-CLAIMS-002",
        "MixedArray",
        minted(permissions=[1, None, {"ns": NS}, [f"{NS}:admin"], True, f"{NS}:read"]),
    ),
    Case("AUTHZ-CLAIMS-003", "ThreeParts", minted(permissions=[f"{NS}:write:extra"])),
    Case("AUTHZ-CLAIMS-004", "EmptyNamespace", minted(permissions=[":admin"])),
    Case("AUTHZ-CLAIMS-004", "EmptyRole", minted(permissions=[f"{NS}:"])),
    Case("AUTHZ-CLAIMS-005", "SpacesAroundColon", minted(permissions=[f"{NS} : write"])),
    Case("AUTHZ-CLAIMS-006", "UpperCaseNamespace", minted(permissions=[f"{NS.upper()}:write"])),
    Case("AUTHZ-CLAIMS-006", "UpperCaseRole", minted(permissions=[f"{NS}:WRITE"])),
    Case("AUTHZ-CLAIMS-006", "UpperCaseSystemScope", minted(permissions=["TEMPORAL-SYSTEM:admin"])),
    Case(
        "AUTHZ-CLAIMS-007", "UnknownRoles", minted(permissions=[f"{NS}:owner", f"{NS}:readwrite", f"{NS}:*"])
    ),
    Case(
        "AUTHZ-CLAIMS-008",
        "DuplicatesOred",
        minted(permissions=[f"{NS}:read", f"{NS}:worker", f"{NS}:read", f"{NS}:admin"]),
    ),
]


@pytest.fixture(scope="module")
def decoy(target: Target) -> None:
    """Serve the attacker's key at a decoy path of the fixture, and let two refreshes pass: a server that
    (wrongly) trusted the decoy would hold the attacker's key by then."""
    if target.jwks is None:
        return
    target.jwks.replace([ATTACKER], path=DECOY_PATH)
    target.jwks.wait_for_fetches(2, after=time.monotonic(), deadline=15)


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.req(c.req), id=c.id) for c in CASES])
async def test_case(case: Case, target: Target, evidence: Evidence, decoy: None) -> None:
    credential, metadata, token = case.build(target)
    calls = role_calls(NS)
    comparison = await compare(target, credential, metadata, calls)
    fill(evidence, comparison, calls, token)
    check(evidence, case.req)
    if case.accepted is not None:
        accepted = comparison.observed["read"] is Outcome.ALLOWED
        assert accepted is case.accepted, f"{case.name}: token accepted={accepted}, want {case.accepted}"
    if case.req == "AUTHZ-JWT-013":
        assert target.jwks is not None and target.jwks.fetches(DECOY_PATH) == [], (
            "the server fetched the decoy"
        )


@pytest.mark.req("AUTHZ-TOKEN-002")
async def test_exp_equal_to_now_is_expired(target: Target, evidence: Evidence) -> None:
    """No leeway: a token is valid while now < exp, in whole seconds. One second before, it works."""
    calls: list[Call] = role_calls(NS)[:1]
    boundary = int(time.time()) + 2
    token = mint(TokenSpec(permissions=WRITE, exp_in=None, extra={"exp": boundary}), target.signing_key)
    credential, metadata = bearer_credential(token)
    await clock_reaches(boundary - 1, what="one second before exp")
    before = await compare(target, credential, metadata, calls, now=boundary - 1)
    await clock_reaches(boundary, what="exp")
    at = await compare(target, credential, metadata, calls, now=boundary)
    evidence.expected = {"now=exp-1": before.expected["read"], "now=exp": at.expected["read"]}
    evidence.observed = {"now=exp-1": before.observed["read"], "now=exp": at.observed["read"]}
    evidence.claims, evidence.api, evidence.namespace = token.evidence(), "DescribeNamespace", NS
    check(evidence, "AUTHZ-TOKEN-002")
    assert at.observed["read"] is Outcome.DENIED


@pytest.mark.req("AUTHZ-HEADER-008")
@pytest.mark.parametrize("valid_first", [True, False], ids=["valid-then-invalid", "invalid-then-valid"])
async def test_two_authorization_headers_only_the_first_counts(
    target: Target, evidence: Evidence, valid_first: bool
) -> None:
    good = target.mint(WRITE)
    bad = "Bearer not-a-token"
    values = [good.authorization, bad] if valid_first else [bad, good.authorization]
    headers = [("authorization", v) for v in values]
    credential = Credential(headers=tuple(headers), signed_by=good.signed_by)
    call = role_calls(NS)[0]
    observed = await probe_with_headers(
        target.address, call.method, DescribeNamespaceRequest(namespace=NS), headers
    )
    expectation = target.expect(credential, call.target)
    evidence.expected, evidence.observed = expected_outcome(expectation.decision), observed.outcome
    evidence.api, evidence.namespace, evidence.claims = call.method.full_method, NS, good.evidence()
    evidence.status, evidence.message, evidence.reason = observed.status, observed.message, expectation.reason
    evidence.extra["header_order"] = "valid, invalid" if valid_first else "invalid, valid"
    check(evidence, "AUTHZ-HEADER-008")
    assert (observed.outcome is Outcome.ALLOWED) is valid_first
