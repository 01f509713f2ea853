"""SEC-P6 and SEC-P7: a reader of namespace A changes no state with real requests (whatever access class
the server's own table gives the method), and no namespace caller runs a command on a server host
(CVE-2026-120091: the Kubernetes compute provider's kubeconfig exec plugin). Read from what happened:
A's state before and after, a marker file the command would write."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import Payload
from temporalio.api.compute.v1 import (
    ComputeConfigScalingGroup,
    ComputeConfigScalingGroupUpdate,
    ComputeProvider,
)
from temporalio.api.workflowservice.v1 import (
    ValidateWorkerDeploymentVersionComputeConfigRequest,
)

from harness.cases.evidence import Evidence
from harness.model.apis import rule_for
from harness.probes.grpc import Observation, sdk_methods
from harness.security.checks import hold
from harness.security.reader import kubeconfig, prepared, read_request, writes
from harness.security.scene import Scene, open_scene
from harness.security.state import changes, read_state
from harness.server.config import ServerSettings
from harness.server.target import Target
from harness.types import WORKFLOW_SERVICE, Access, Outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scene(target: Target) -> Scene:
    return await open_scene(target)


@pytest.mark.prop("SEC-P6", "writes")
async def test_a_reader_changes_nothing(scene: Scene, evidence: Evidence) -> None:
    ids = await prepared(scene)
    reader = scene.tenant("read", sub="reader-of-a")
    metadata = scene.metadata(reader)
    before = await read_state(scene.server, scene.a, [ids["workflow"]])
    answers: dict[str, Observation] = {}
    for name, attempt in writes().items():
        answers[name] = await scene.prober.observe(attempt(scene, metadata, ids))
    after = await read_state(scene.server, scene.a, [ids["workflow"]])
    violations = [f"{name}: carried out ({o.status})" for name, o in answers.items() if o.status == "OK"]
    violations += changes(before, after)
    evidence.api, evidence.namespace, evidence.claims = ", ".join(answers), scene.a, reader.evidence()
    evidence.extra["answers"] = {
        n: f"{o.outcome.value} {o.status} {o.message[:80]}" for n, o in answers.items()
    }
    hold(evidence, "SEC-P6/writes", violations, len(answers), "state-changing requests by a reader of A")


@pytest.mark.prop("SEC-P6", "reads")
async def test_read_only_calls_change_nothing(scene: Scene, target: Target, evidence: Evidence) -> None:
    """Every call the server's own API table classifies read-only, with a reader of A: A must not change."""
    if not target.table.services:
        pytest.skip("this release has no API table (access classes come with 1.22)")
    read_only = [
        m for m in sdk_methods()
        if m.service == WORKFLOW_SERVICE and rule_for(target.table, m.full_method).access is Access.READ_ONLY
    ]  # fmt: skip
    ids = await prepared(scene)
    reader = scene.tenant("read", sub="reader-of-a")
    before = await read_state(scene.server, scene.a, [ids["workflow"]])
    answers = {
        m.name: await scene.prober.probe(m, scene.a, scene.metadata(reader), read_request(m, scene, ids))
        for m in read_only
    }
    after = await read_state(scene.server, scene.a, [ids["workflow"]])
    violations = changes(before, after)
    evidence.api, evidence.namespace, evidence.claims = (
        f"{len(read_only)} read-only methods",
        scene.a,
        reader.evidence(),
    )
    evidence.extra["answers"] = {n: f"{o.outcome.value} {o.status}" for n, o in answers.items()}
    hold(evidence, "SEC-P6/reads", violations, len(read_only), "read-only calls by a reader of A")


# -- SEC-P7: commands on a server host (CVE-2026-120091) ------------------------------------------------

# 1.32.0-1.32.1 build the Kubernetes provider but enable it only when listed; 1.31 enables every provider.
K8S_PROVIDER = ServerSettings(
    dynamic_config={"workercontroller.compute_providers.enabled": ["k8s"]},
    purpose="the Kubernetes compute provider enabled",
)


@pytest.mark.prop("SEC-P7", "compute-provider")
@pytest.mark.needs_own_server
@pytest.mark.parametrize("role", ["read", "write"])
async def test_no_caller_runs_a_command_on_the_worker_host(
    role: str, server_for: Any, evidence: Evidence
) -> None:
    server = await server_for(K8S_PROVIDER)
    if server.running.backend != "process":
        pytest.skip(
            "the marker file is read on the server's host: process backend only (the official image has no shell)"
        )
    scene = await open_scene(server)
    caller = scene.tenant(role, sub=f"{role}er-of-a")
    with tempfile.TemporaryDirectory(prefix="authz-p7-") as directory:
        marker = Path(directory) / "ran"
        details = {"namespace": "sec", "deployment": "sec", "kubeconfig": kubeconfig(marker)}
        group = ComputeConfigScalingGroupUpdate(
            scaling_group=ComputeConfigScalingGroup(
                provider=ComputeProvider(
                    type="k8s",
                    details=Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(details).encode()),
                )
            )
        )
        answer = await scene.prober.observe(
            scene.client.workflow_service.validate_worker_deployment_version_compute_config(
                ValidateWorkerDeploymentVersionComputeConfigRequest(
                    namespace=scene.a, identity="sec", compute_config_scaling_groups={"sec": group}
                ),
                metadata=scene.metadata(caller),
                retry=False,
                timeout=timedelta(seconds=15),
            )
        )
        if answer.outcome is Outcome.ABSENT:
            pytest.skip(
                "this release has no compute providers (ValidateWorkerDeploymentVersionComputeConfig)"
            )
        ran = marker.exists()
    evidence.api, evidence.namespace, evidence.claims = (
        "ValidateWorkerDeploymentVersionComputeConfig [k8s]",
        scene.a,
        caller.evidence(),
    )
    evidence.status, evidence.message = answer.status, answer.message[:300]
    violations = (
        [f"a {role}er of {scene.a!r} ran a command on the worker host (the marker was written)"]
        if ran
        else []
    )
    hold(evidence, "SEC-P7/compute-provider", violations, 1, f"compute config validated by a {role}er")
