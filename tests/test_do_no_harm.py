"""Do no harm on a cluster the harness does not own, with real processes: v1.32.2 servers this test starts
with a JWKS of their own stand in for a user's clusters behind an IdP, and the harness is pointed at them
as a user points it at staging (--target, --external-signing-key). Every request it sends there is audited
(AUTHZ_REQUEST_AUDIT) and every token it signs (AUTHZ_TOKEN_AUDIT); the test reads the audits and fails
on any destructive call aimed at a namespace or object the harness did not create, and on any token
signed with the cluster's key that lives longer than the limit.

Judged here without the guard's own rule: a destructive call (harness/safety.py's list) sent there must
name only the harness's namespaces and the Nexus endpoints the run's report says it created, and the
never-list calls must not be sent at all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from temporalio.api.operatorservice.v1 import ListNexusEndpointsRequest
from temporalio.service import ConnectConfig, ServiceClient

from harness.jwks.fixture import JwksServer
from harness.safety import NOT_PROBED
from harness.server.backend import RunningServer
from harness.server.config import RenderedConfig, ServerSettings, render
from harness.server.process import ProcessBackend
from harness.server.provision import DEFAULT_VERSION, provision
from harness.server.target import SUITE_NAMESPACES
from harness.tokens.keys import SigningKey, rsa_key
from harness.tokens.mint import RESTRICTED_LIFETIME_S, TokenSpec, mint
from harness.types import ServerVersion
from tests.runs import ROOT, run_env, run_pytest
from tests.test_external import write_pem

VERSION = ServerVersion.parse(DEFAULT_VERSION)
PROFILES = sorted((ROOT / "fixtures" / "profiles").glob("*.yaml"))
# Calls that must never reach a cluster the harness does not own, whatever they name (read here, not
# from the guard's list, so a guard that lets one through fails this test).
NEVER = {
    "DeprecateNamespace",
    "DeleteNamespace",
    "AddOrUpdateRemoteCluster",
    "RemoveRemoteCluster",
    "AddSearchAttributes",
    "RemoveSearchAttributes",
}


class Cluster:
    """A server of a config, trusting one IdP key (as a user's cluster trusts its identity provider's)."""

    def __init__(self, running: RunningServer, config: RenderedConfig, key: SigningKey, pem: Path) -> None:
        self.running, self.config, self.key, self.pem = running, config, key, pem

    @property
    def address(self) -> str:
        return self.running.address

    def target_args(self) -> list[str]:
        return [
            "--target",
            self.address,
            "--external-signing-key",
            str(self.pem),
            "--external-kid",
            self.key.kid,
        ]


@contextlib.contextmanager
def cluster(directory: Path, settings: ServerSettings, name: str) -> Iterator[Cluster]:
    key = rsa_key(kid=f"{name}-idp-key")
    pem = write_pem(key, directory / f"{name}.pem")
    with JwksServer() as idp:
        idp.publish(key)
        config = render(directory / name, [idp.url()], settings)
        running = asyncio.run(ProcessBackend().start(provision(VERSION), config))
        try:
            yield Cluster(running, config, key, pem)
        finally:
            running.stop()


def audited(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def harmful(
    requests: list[dict[str, Any]],
    created: frozenset[str] = frozenset(),
    endpoints: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """The requests sent that destroyed, or could have destroyed, what the harness did not create: its
    namespaces are SUITE_NAMESPACES and those its report says it registered (`created`), its endpoints
    those the report lists; a namespace it registers must carry its prefix."""
    ours = set(SUITE_NAMESPACES) | created
    found = []
    for r in requests:
        if not r["sent"]:
            continue
        name = r["method"].rsplit("/", 1)[-1]
        namespaces = r.get("namespaces", [])
        if name == "RegisterNamespace":
            foreign = [n for n in namespaces if not n.startswith("authz-")]
        else:
            foreign = [n for n in namespaces if n not in ours]
        foreign += r.get("namespace_ids", []) + [i for i in r.get("ids", []) if i not in endpoints]
        foreign += [n for n in r.get("names", []) if not n.startswith("authz-")]
        names_nothing = not any(r.get(k) for k in ("namespaces", "namespace_ids", "ids", "names"))
        if name in NEVER or (r["destructive"] and (foreign or names_nothing)):
            found.append(r)
    return found


def long_lived(tokens: list[dict[str, Any]], kid: str) -> list[dict[str, Any]]:
    """Tokens signed with the cluster's key without a numeric exp, with exp 0, or living past the limit."""
    mine = [t for t in tokens if t["kid"] == kid]
    return [
        t for t in mine if t["lifetime_s"] is None or t["exp"] == 0 or t["lifetime_s"] > RESTRICTED_LIFETIME_S
    ]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], cwd=ROOT, env=run_env(env), capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip


def test_profiles_and_explain_leave_the_users_namespaces_alone(tmp_path: Path) -> None:
    """Every shipped profile against a cluster of its config, then `explain --target` with a system
    admin's token: the calls that would deprecate, update, terminate or delete in the user's namespaces
    are asked of the model only and reported "not probed: irreversible"."""
    requests, tokens = tmp_path / "requests.jsonl", tmp_path / "tokens.jsonl"
    env = {"AUTHZ_REQUEST_AUDIT": str(requests), "AUTHZ_TOKEN_AUDIT": str(tokens)}
    by_config: dict[str, list[Path]] = {}
    for path in PROFILES:
        authorization = (yaml.safe_load(path.read_text()).get("server") or {}).get("authorization") or {}
        by_config.setdefault(json.dumps(authorization, sort_keys=True), []).append(path)
    outputs: dict[str, str] = {}
    kids = []
    for index, (authorization, paths) in enumerate(sorted(by_config.items())):
        settings = ServerSettings(authorization=json.loads(authorization), refresh_interval="1h")
        with cluster(tmp_path, settings, f"c{index}") as user:
            kids.append(user.key.kid)
            for path in paths:
                out = tmp_path / f"{path.stem}.json"
                result = run_cli("profile", str(path), *user.target_args(), "--out", str(out), env=env)
                outputs[path.stem] = result.stdout + result.stderr
                assert result.returncode in (0, 1), outputs[path.stem][-3000:]
                report = json.loads(out.read_text())
                assert report["model_disagreements"] == [], path.stem
            if authorization == "{}":
                admin = mint(
                    TokenSpec(permissions=["temporal-system:admin"], sub="ops", exp_in=120), user.key
                )
                explained = run_cli(
                    "explain",
                    "--token",
                    admin.token,
                    "--namespace",
                    "payments",
                    "--target",
                    user.address,
                    env=env,
                )
                outputs["explain"] = explained.stdout + explained.stderr
                assert explained.returncode == 0, outputs["explain"][-3000:]
    sent = audited(requests)
    assert len(sent) > 500 and harmful(sent) == [], harmful(sent)[:5]
    refused = {r["method"].rsplit("/", 1)[-1] for r in sent if not r["sent"]}
    assert refused == set(), refused  # the callers left every destructive call out before the guard
    okta = outputs["okta-groups"].splitlines()
    admin = okta.index(next(line for line in okta if line.startswith("  platform-admin: system: admin")))
    assert f"{NOT_PROBED} (the model's answer stands in)" in okta[admin]
    said = f"    {NOT_PROBED} in checkout, the model says ALLOWED: "
    assert any(line.startswith(said) and "DeprecateNamespace" in line for line in okta[admin:]), okta[admin:]
    explain = outputs["explain"]
    assert f"RegisterNamespace in `payments`: model ALLOWED, {NOT_PROBED}" in explain, explain[-3000:]
    assert f"DeleteWorkflowExecution in `payments`: model ALLOWED, {NOT_PROBED}" in explain
    assert long_lived(audited(tokens), kids[0]) == [] and any(t["kid"] in kids for t in audited(tokens))
    assert all(long_lived(audited(tokens), kid) == [] for kid in kids)


def test_the_suites_on_a_target_touch_only_what_they_created(tmp_path: Path) -> None:
    """The grid, the AdminService grid, the Nexus, stream and smoke suites with --target: destructive calls
    go only to the harness's namespaces (its four, and the one the smoke suite registers) and endpoints;
    the endpoint it created is removed at the end, and the report says what it created, removed and left."""
    requests, tokens = tmp_path / "requests.jsonl", tmp_path / "tokens.jsonl"
    env = {"AUTHZ_REQUEST_AUDIT": str(requests), "AUTHZ_TOKEN_AUDIT": str(tokens)}
    with cluster(tmp_path, ServerSettings(), "staging") as user:
        reports = tmp_path / "reports"
        assert user.config.http_address is not None
        result = run_pytest(
            reports, "-q", "-rs", *user.target_args(), "--target-http", user.config.http_address,
            "suites/test_matrix.py", "suites/test_admin.py", "suites/test_nexus.py", "suites/test_streams.py",
            "suites/test_smoke.py", "suites/test_security_tenancy.py", "suites/test_security_callers.py",
            "suites/test_security_machine.py", env=env,
        )  # fmt: skip
        left = asyncio.run(_endpoints(user))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    report = json.loads((reports / "conformance.json").read_text())
    created = report["server"]["created_on_target"]
    registered = sorted(n["name"] for n in created["namespaces"])
    assert set(SUITE_NAMESPACES) < set(registered) and all(n.startswith("authz-") for n in registered)
    assert created["nexus_endpoints"] and all(e["removed"] for e in created["nexus_endpoints"])
    assert created["left"] and "namespaces are left" in created["left"][0]["why"] and not created["errors"]
    assert left == [], left  # nothing of the harness's left among the cluster's endpoints
    endpoints = frozenset(e["id"] for e in created["nexus_endpoints"])
    sent = audited(requests)
    mine = frozenset(registered)
    assert harmful(sent, mine, endpoints) == [], harmful(sent, mine, endpoints)[:5]
    destructive_sent = {r["method"].rsplit("/", 1)[-1] for r in sent if r["sent"] and r["destructive"]}
    assert {"UpdateNamespace", "TerminateWorkflowExecution", "DeleteNexusEndpoint"} <= destructive_sent
    assert f"{NOT_PROBED} (WorkflowService/DeprecateNamespace" in output  # the grid's skip, with the model
    assert report["summary"]["FAIL"] == 0 and report["summary"]["HARNESS_ERROR"] == 0
    assert long_lived(audited(tokens), user.key.kid) == []
    # The security checks ran on the cluster, only on what the harness created there, and say per advisory
    # whether it is exploitable on this cluster.
    security = report["security"]
    assert security["properties"]["SEC-P2"]["status"] == "holds", security["line"]
    assert "CVE-2026-5199: not exploitable on this cluster" in security["advisories"]["CVE-2026-5199"]["line"]
    assert {"authz-sec-tenant", "authz-sec-victim"} <= set(registered)


async def _endpoints(user: Cluster) -> list[str]:
    """The harness's Nexus endpoints left on the cluster (listed with an admin token of the test's own)."""
    client = await ServiceClient.connect(ConnectConfig(target_host=user.address))
    admin = mint(TokenSpec(permissions=["temporal-system:admin"], sub="ops", exp_in=60), user.key)
    listed = await client.operator_service.list_nexus_endpoints(
        ListNexusEndpointsRequest(page_size=100), metadata={"authorization": f"Bearer {admin.token}"}
    )
    return [e.spec.name for e in listed.endpoints if e.spec.name.startswith("authz-")]


def test_tokens_for_a_target_expire_within_minutes(tmp_path: Path) -> None:
    """The token suite and the fuzz suites with --target and the cluster's key: every token signed with it
    expires within the limit; the cases that need no exp (or a far one) are skipped, saying why."""
    tokens = tmp_path / "tokens.jsonl"
    with cluster(tmp_path, ServerSettings(), "prod") as user:
        reports = tmp_path / "reports"
        result = run_pytest(
            reports, "-q", "-rs", *user.target_args(),
            "suites/test_tokens.py", "suites/test_fuzz.py", "suites/test_fuzz_regressions.py",
            env={"AUTHZ_TOKEN_AUDIT": str(tokens)},
        )  # fmt: skip
    output = result.stdout + result.stderr
    report = json.loads((reports / "conformance.json").read_text())
    assert report["summary"]["FAIL"] == 0, output[-3000:]
    # The one key given is RSA: the two cases that need a trusted EC key cannot run (not this test's
    # concern). Any other harness error, "refusing to sign" above all, fails it.
    errors = [t for t in report["tests"] if t["verdict"] == "HARNESS_ERROR"]
    assert all("no trusted EC signing key" in t["message"] for t in errors), [t["nodeid"] for t in errors]
    signed = [t for t in audited(tokens) if t["kid"] == user.key.kid]
    assert len(signed) > 50 and all(t["restricted"] for t in signed)
    assert long_lived(signed, user.key.kid) == [], long_lived(signed, user.key.kid)[:5]
    assert "never against a cluster it does not own" in output  # NoExp, ExpFarFuture, token bytes: skipped
