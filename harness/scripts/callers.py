"""What a caller without rights tries beyond the grid (SEC-P1, SEC-P3): the replication stream, and a
read, a write, a namespace-admin and a cluster-admin call with one token. Read from what the server
answered, never from the model."""

from __future__ import annotations

import uuid

from temporalio.api.common.v1 import WorkflowType
from temporalio.api.operatorservice.v1 import ListClustersRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    StartWorkflowExecutionRequest,
    UpdateNamespaceRequest,
)

from harness.errors import ServerDidNotComply
from harness.probes.grpc import Observation
from harness.probes.grpc_raw import probe_raw
from harness.probes.streams import STREAMS, probe_stream
from harness.security.checks import REFUSED
from harness.server.target import Target
from harness.tokens.mint import MintedToken
from harness.types import ADMIN_SERVICE, Outcome, full_method

REPLICATION = next(s for s in STREAMS if s.name == "ReplicationStream")


async def replication_stream(target: Target, token: MintedToken | None) -> Observation:
    credentials, options = target.channel_credentials()
    return await probe_stream(target.address, REPLICATION, target.headers(token), credentials, options)


def opened(observed: Observation) -> list[str]:
    """The violation, if the stream opened past authorization ([] when refused). No answer at all is
    the server's failure too: nothing is shown about the stream."""
    if observed.outcome in REFUSED:
        return []
    if observed.outcome is Outcome.ERROR:
        raise ServerDidNotComply(
            f"the replication stream gave no answer: {observed.status} {observed.message!r}"
        )
    return [f"opened past authorization: {observed.status} {observed.message[:160]!r}"]


async def calls_everywhere(target: Target, token: MintedToken, namespace: str) -> dict[str, Observation]:
    """A read, a write, a namespace-admin and a cluster-admin call, AdminService and the stream."""
    client, prober, metadata = await target.service_client(), await target.prober(), target.metadata(token)
    workflow_id = f"sec-refused-{uuid.uuid4().hex[:8]}"
    service = client.workflow_service
    calls = {
        "DescribeNamespace": service.describe_namespace(DescribeNamespaceRequest(namespace=namespace), metadata=metadata, retry=False),
        "StartWorkflowExecution": service.start_workflow_execution(
            StartWorkflowExecutionRequest(namespace=namespace, workflow_id=workflow_id, workflow_type=WorkflowType(name="SecRefused"),
                                          task_queue=TaskQueue(name="sec-refused"), request_id=str(uuid.uuid4())),
            metadata=metadata, retry=False,
        ),
        "UpdateNamespace": service.update_namespace(UpdateNamespaceRequest(namespace=namespace), metadata=metadata, retry=False),
        "ListClusters": client.operator_service.list_clusters(ListClustersRequest(), metadata=metadata, retry=False),
    }  # fmt: skip
    observed = {name: await prober.observe(call) for name, call in calls.items()}
    async with target.grpc_channel() as channel:
        describe_cluster = full_method(ADMIN_SERVICE, "DescribeCluster")
        observed["AdminService/DescribeCluster"] = await probe_raw(
            channel, describe_cluster, b"", target.headers(token)
        )
    observed["ReplicationStream"] = await replication_stream(target, token)
    return observed
