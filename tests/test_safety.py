"""Do no harm on a cluster the harness does not own, without a server: the destructive list, the rule of
where a listed call may go, the transport guards that enforce it (SDK client, grpcio, HTTP), the audit
they write, and the token guard (a restricted key signs only tokens that expire within minutes)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from temporalio.api.operatorservice.v1 import CreateNexusEndpointRequest, DeleteNexusEndpointRequest
from temporalio.api.workflowservice.v1 import (
    DeprecateNamespaceRequest,
    TerminateWorkflowExecutionRequest,
    UpdateNamespaceRequest,
)
from temporalio.service import ConnectConfig

from harness import audit
from harness.api_tables import table_path
from harness.errors import HarnessConfigError, HarnessError
from harness.fuzz.exercise import BOUNDED_EXP_S, bounded_exp
from harness.fuzz.token_text import build
from harness.guard import Gate, GuardedServiceClient, RawGuard, sdk_full_method
from harness.probes.grpc import minimal_request, sdk_methods, wf
from harness.probes.grpc_raw import probe_raw
from harness.probes.http import guard_hook, request_for, request_from_http, routes
from harness.safety import DESTRUCTIVE, NOT_PROBED, Aim, Ownership, Reach, aim_of
from harness.server.external import ExternalTarget
from harness.server.target import SUITE_NAMESPACES
from harness.settings import ENV
from harness.tokens import forge
from harness.tokens.keys import rsa_key
from harness.tokens.mint import RESTRICTED_LIFETIME_S, TokenSpec, mint, restrict
from harness.types import OPERATOR_SERVICE, WORKFLOW_SERVICE, full_method

WF = lambda name: full_method(WORKFLOW_SERVICE, name)  # noqa: E731
OP = lambda name: full_method(OPERATOR_SERVICE, name)  # noqa: E731
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def audits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    requests, tokens = tmp_path / "requests.jsonl", tmp_path / "tokens.jsonl"
    monkeypatch.setattr(audit, "ENV", dataclasses.replace(ENV, request_audit=requests, token_audit=tokens))
    return requests, tokens


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- the list ---------------------------------------------------------------------------------------


def every_method_of_every_release() -> set[str]:
    found: set[str] = set()
    for path in [
        *table_path("v1.32.2").parent.glob("v*.json"),
        *(table_path("v1.32.2").parent / "methods").glob("*.json"),
    ]:
        for service, methods in json.loads(path.read_text())["services"].items():
            found |= {full_method(service, name) for name in methods}
    return found


def test_every_listed_call_is_a_method_some_release_has_with_a_reason() -> None:
    known = every_method_of_every_release()
    assert set(DESTRUCTIVE) <= known, sorted(set(DESTRUCTIVE) - known)
    assert all(entry.why for entry in DESTRUCTIVE.values())
    for name in ("DeprecateNamespace", "UpdateNamespace", "RegisterNamespace", "TerminateWorkflowExecution"):
        assert WF(name) in DESTRUCTIVE
    for name in ("DeleteNamespace", "AddOrUpdateRemoteCluster", "RemoveRemoteCluster", "AddSearchAttributes"):
        assert DESTRUCTIVE[OP(name)].reach is Reach.NEVER
    assert WF("StartWorkflowExecution") not in DESTRUCTIVE and WF("DescribeNamespace") not in DESTRUCTIVE


def test_owned_servers_may_be_sent_anything() -> None:
    assert Ownership().refusal(WF("DeprecateNamespace"), Aim(("payments",))) == ""


def test_on_a_cluster_not_owned_never_means_never_and_own_means_the_harness_s_own() -> None:
    ours = Ownership.foreign(SUITE_NAMESPACES)
    assert "never sent" in ours.refusal(WF("DeprecateNamespace"), Aim(("authz-matrix",)))
    assert ours.refusal(WF("UpdateNamespace"), Aim(("authz-matrix",))) == ""
    assert "payments" in ours.refusal(WF("UpdateNamespace"), Aim(("payments",)))
    assert "names nothing" in ours.refusal(WF("TerminateWorkflowExecution"), Aim())
    assert ours.refusal(WF("DescribeNamespace"), Aim(("payments",))) == ""  # not listed: a read
    nexus = aim_of(minimal_request(wf("DeprecateNamespace"), "x"))
    assert nexus.namespaces == ("x",)


def test_only_harness_names_can_be_claimed() -> None:
    ownership = Ownership.foreign()
    ownership.claim(["authz-conformance", "payments"])
    assert ownership.namespaces == {"authz-conformance"}


def test_a_namespace_the_harness_registers_under_its_name_is_its_own_from_then_on() -> None:
    ownership = Ownership.foreign()
    register = minimal_request(wf("RegisterNamespace"), "authz-sample-1")
    assert "create payments" in ownership.refusal(WF("RegisterNamespace"), Aim(("payments",)))
    assert ownership.refusal(WF("RegisterNamespace"), aim_of(register)) == ""
    assert "authz-sample-1" in ownership.refusal(WF("UpdateNamespace"), Aim(("authz-sample-1",)))
    ownership.answered(WF("RegisterNamespace"), register, None, "OK")
    assert ownership.refusal(WF("UpdateNamespace"), Aim(("authz-sample-1",))) == ""
    assert ownership.registered == {"authz-sample-1": "registered"}


def test_nexus_endpoints_are_the_harness_s_once_it_saw_them_created() -> None:
    ownership = Ownership.foreign(SUITE_NAMESPACES)
    create = CreateNexusEndpointRequest()
    create.spec.name = "authz-1234"
    create.spec.target.worker.namespace = "authz-conformance"
    assert ownership.refusal(OP("CreateNexusEndpoint"), aim_of(create)) == ""
    create.spec.name = "payments-endpoint"
    assert "create payments-endpoint" in ownership.refusal(OP("CreateNexusEndpoint"), aim_of(create))
    delete = DeleteNexusEndpointRequest(id="e-1", version=1)
    assert "endpoint e-1" in ownership.refusal(OP("DeleteNexusEndpoint"), aim_of(delete))
    created = type("Created", (), {"endpoint": type("E", (), {"id": "e-1"})()})()
    create.spec.name = "authz-1234"
    ownership.answered(OP("CreateNexusEndpoint"), create, created, "OK")  # type: ignore[arg-type]
    assert ownership.refusal(OP("DeleteNexusEndpoint"), aim_of(delete)) == ""


# -- the transport guards ---------------------------------------------------------------------------


def test_every_sdk_call_maps_to_its_full_method() -> None:
    services = {WORKFLOW_SERVICE: "workflow", OPERATOR_SERVICE: "operator"}
    for method in sdk_methods():
        assert sdk_full_method(services[method.service], method.snake) == method.full_method


def test_the_sdk_client_refuses_and_audits_before_anything_is_sent(audits: tuple[Path, Path]) -> None:
    gate = Gate("127.0.0.1:1", Ownership.foreign(SUITE_NAMESPACES))

    async def calls() -> None:
        client = await GuardedServiceClient.open(ConnectConfig(target_host="127.0.0.1:1", lazy=True), gate)
        with pytest.raises(HarnessError, match="DeprecateNamespace"):
            await client.workflow_service.deprecate_namespace(
                DeprecateNamespaceRequest(namespace="authz-matrix")
            )
        with pytest.raises(HarnessError, match="payments"):
            await client.workflow_service.update_namespace(UpdateNamespaceRequest(namespace="payments"))

    asyncio.run(calls())
    audited = lines(audits[0])
    assert [(a["method"].rsplit("/", 1)[1], a["sent"], a["destructive"]) for a in audited] == [
        ("DeprecateNamespace", False, True),
        ("UpdateNamespace", False, True),
    ]
    assert audited[1]["namespaces"] == ["payments"] and "payments" in audited[1]["refused"]


def test_grpcio_calls_by_name_go_through_the_gate(audits: tuple[Path, Path]) -> None:
    gate = Gate("127.0.0.1:1", Ownership.foreign(SUITE_NAMESPACES))
    body = TerminateWorkflowExecutionRequest(namespace="payments").SerializeToString()

    async def call() -> None:
        async with grpc.aio.insecure_channel("127.0.0.1:1", interceptors=[RawGuard(gate)]) as channel:
            with pytest.raises(HarnessError, match="TerminateWorkflowExecution"):
                await probe_raw(channel, WF("TerminateWorkflowExecution"), body, [])

    asyncio.run(call())
    assert lines(audits[0])[0]["namespaces"] == ["payments"]


def test_every_http_route_reads_back_as_its_method_and_namespace() -> None:
    for route in routes():
        for namespace in ("authz-matrix", ""):
            verb, path, body = request_for(route, namespace)
            content = json.dumps(body).encode() if body is not None else b""
            method, message = request_from_http(verb, path, content)
            assert method == route.full_method, path
            if route.method.has_namespace and namespace:
                assert namespace in aim_of(message).namespaces, path


def test_the_http_hook_refuses_a_destructive_route(audits: tuple[Path, Path]) -> None:
    hook = guard_hook(Gate("127.0.0.1:1", Ownership.foreign(SUITE_NAMESPACES)))
    route = next(r for r in routes() if r.name == "TerminateWorkflowExecution")
    verb, path, body = request_for(route, "payments")
    request = httpx.Request(verb.upper(), f"http://127.0.0.1:1{path}", json=body)
    with pytest.raises(HarnessError, match="payments"):
        asyncio.run(hook(request))
    verb, path, body = request_for(route, "authz-matrix")
    asyncio.run(hook(httpx.Request(verb.upper(), f"http://127.0.0.1:1{path}", json=body)))
    assert [a["sent"] for a in lines(audits[0])] == [False, True]


# -- tokens -----------------------------------------------------------------------------------------


def test_a_restricted_key_signs_only_short_tokens(audits: tuple[Path, Path]) -> None:
    key = rsa_key(kid="cluster-key")
    restrict(key, "the cluster at test:7233")
    token = mint(TokenSpec(permissions=["ns:read"]), key)  # the default lifetime shrinks to the limit
    assert token.claims["exp"] - token.claims["iat"] == RESTRICTED_LIFETIME_S
    for spec in (TokenSpec(exp_in=None), TokenSpec(exp_in=3600), TokenSpec(exp_in=None, extra={"exp": 0})):
        with pytest.raises(HarnessError, match="cluster-key"):
            mint(spec, key)
    with pytest.raises(HarnessError, match="no readable exp"):
        forge.signed_raw(key, {"alg": "RS256", "kid": key.kid}, b'{"sub":"x"}')
    with pytest.raises(HarnessError):
        forge.other_alg(key, TokenSpec(exp_in=None), "RS384")
    forged = forge.with_kid(key, TokenSpec(), "other").claims
    assert forged["exp"] - forged["iat"] == RESTRICTED_LIFETIME_S
    signed_by = int(time.time()) + RESTRICTED_LIFETIME_S  # no claim of this one says when it was made
    assert forge.duplicate_claim_keys(key, ["a:read"], ["a:admin"]).claims["exp"] <= signed_by
    audited = [a for a in lines(audits[1]) if a["kid"] == "cluster-key"]
    assert audited and all(a["restricted"] for a in audited)
    assert "token" not in json.dumps(audited).replace("token_", "")  # kid, iat, exp: never the token
    unrestricted = mint(TokenSpec(exp_in=None), rsa_key(kid="own"))  # a server the harness started
    assert "exp" not in unrestricted.claims


def test_fuzzed_token_bytes_with_a_restricted_key_need_a_readable_short_exp() -> None:
    key = rsa_key(kid="cluster-rsa")
    restrict(key, "the cluster at test:7233")
    keys = {"rsa": key, "ec": key, "untrusted": rsa_key(), "untrusted-ec": rsa_key()}
    spec: dict[str, Any] = {
        "header": {"members": [["alg", {"key": "alg"}], ["kid", {"key": "kid"}]], "style": "compact"},
        "payload": {
            "members": [["sub", {"json": '"x"'}], ["exp", {"time": 60, "form": "int"}]],
            "style": "compact",
        },
    }
    assert build(spec, keys).signed_by == key.fingerprint  # a short, readable exp: signed
    spec["payload"]["prefix"] = "x"  # a payload no JSON parser reads: its exp cannot be vouched for
    with pytest.raises(HarnessError, match="no readable exp"):
        build(spec, keys)
    spec["payload"]["prefix"] = ""
    spec["payload"]["members"][1][1]["time"] = 86400
    with pytest.raises(HarnessError, match=r"exp 8639[89] s from now"):
        build(spec, keys)


def test_fuzzed_claims_get_a_bounded_exp_where_it_was_absent_or_far() -> None:
    now = 1_800_000_000.0
    assert bounded_exp({"exp": now + 60}, now) == ({"exp": now + 60}, {})
    for drawn in ({}, {"exp": now + 86400}, {"exp": 0}, {"exp": "9999999999"}):
        payload, note = bounded_exp(dict(drawn), now)
        assert payload["exp"] == int(now) + BOUNDED_EXP_S and note["exp_drawn"]


# -- plaintext --------------------------------------------------------------------------------------


def test_plaintext_off_this_machine_needs_the_flag_and_warns() -> None:
    assert ExternalTarget("127.0.0.1:7233").transport_check() == ""
    assert ExternalTarget("[::1]:7233").transport_check() == ""
    assert ExternalTarget("staging:7233", tls=True).transport_check() == ""
    with pytest.raises(HarnessConfigError, match=r"--target-tls.*--target-plaintext"):
        ExternalTarget("staging:7233").transport_check()
    assert "WARNING" in ExternalTarget("10.1.2.3:7233", plaintext=True).transport_check()


@pytest.mark.parametrize("command", ["profile", "explain"])
def test_the_commands_refuse_plaintext_to_a_remote_target(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    pem = tmp_path / "k.pem"
    pem.write_text("not used: refused before")
    args = {
        "profile": ["profile", str(ROOT / "fixtures/profiles/okta-groups.yaml"), "--target", "192.0.2.1:7233",
                    "--external-signing-key", str(pem), "--external-kid", "k", "--out", str(tmp_path / "p.json")],
        "explain": ["explain", "--claims", str(tmp_path / "c.json"), "--target", "192.0.2.1:7233"],
    }[command]  # fmt: skip
    (tmp_path / "c.json").write_text('{"sub": "x", "permissions": ["a:read"]}')
    assert main(args) == 4
    assert "--target-plaintext" in capsys.readouterr().err


def test_not_probed_is_reported_with_the_model_s_answer() -> None:
    from harness.explain.live import LiveProbe
    from harness.explain.render import live_lines
    from harness.model.decide import Expectation
    from harness.types import Decision

    model = Expectation(Decision.ALLOW, "system admin", None)
    probe = LiveProbe("namespace-admin", "RegisterNamespace", "payments", model, None, f"{NOT_PROBED} (why)")
    text = "\n".join(live_lines("x:1", [probe]))
    assert "model ALLOWED, not probed: irreversible (why)" in text and probe.agrees
