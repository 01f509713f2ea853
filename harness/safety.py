"""Do no harm on a cluster the harness does not own: the one list of calls that destroy, end or rewrite
what they name, and the rule that says where such a call may still be sent.

On a server the harness started, everything is its own: every call may be sent. On a cluster it does not
own (`--target`, a profile's `server.target`, `explain --target`), a listed call is sent only where the
request names nothing but what the harness created there (`Reach.OWN`), or never (`Reach.NEVER`: its
effect is cluster-wide or cannot be undone even on the harness's own objects). Everyone who probes a
target decides with `Ownership.refusal()` first (the grid, the admin grid, the profile check, `explain
--target`), and the transport guards (harness.guard, probes.http) refuse the same calls again.

A create call (`Reach.CREATE`) may go there only under a name of the harness's (`authz-...`); what it
creates is the harness's own from then on (`Ownership.answered()` learns it from the answer).

A call is listed even where the harness's minimal request is harmless (it fails validation after
authorization): it is harmless only because the request is malformed, and a profile check or a suite may
send a real one. Not listed, on purpose: calls that start or add work (StartWorkflowExecution, signals,
updates, queries), answer tasks (Respond*, Poll*, heartbeats) or only read: they remove nothing.

Pure: no server, no pytest; harness.types and protobuf messages only."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from harness.types import ADMIN_SERVICE, OPERATOR_SERVICE, WORKFLOW_SERVICE, full_method

NOT_PROBED = "not probed: irreversible"
# The prefix of every object the harness names on a cluster (namespaces, Nexus endpoints).
HARNESS_PREFIX = "authz-"


class Reach(enum.Enum):
    NEVER = "never"  # never sent to a cluster the harness does not own
    OWN = "own"  # sent there only when every namespace and object it names is the harness's own
    CREATE = "create"  # creates an object there: only under a name of the harness's (HARNESS_PREFIX)


@dataclass(frozen=True)
class Destructive:
    reach: Reach
    why: str


def _never(why: str) -> Destructive:
    return Destructive(Reach.NEVER, why)


def _own(why: str) -> Destructive:
    return Destructive(Reach.OWN, why)


def _create(why: str) -> Destructive:
    return Destructive(Reach.CREATE, why)


_WORKFLOW: dict[str, Destructive] = {
    # namespaces
    "DeprecateNamespace": _never("cannot be undone: a deprecated namespace never returns to registered"),
    "RegisterNamespace": _create(
        "creates a namespace for good (none can be deleted safely on every release)"
    ),
    "UpdateNamespace": _own("changes a namespace's retention, archival, data and active cluster"),
    # executions
    "TerminateWorkflowExecution": _own("ends a run at once; no cleanup code of the workflow runs"),
    "DeleteWorkflowExecution": _own("deletes a run and its history"),
    "ResetWorkflowExecution": _own("terminates the current run and replays history from an earlier point"),
    "RequestCancelWorkflowExecution": _own("asks a run to stop: most workflows end"),
    "PauseWorkflowExecution": _own("stops a run's progress until someone unpauses it"),
    "UnpauseWorkflowExecution": _own("undoes an operator's deliberate pause"),
    "UpdateWorkflowExecutionOptions": _own("rewrites a run's versioning override"),
    "TerminateActivityExecution": _own("ends a standalone activity at once"),
    "DeleteActivityExecution": _own("deletes a standalone activity and its record"),
    "RequestCancelActivityExecution": _own("asks a standalone activity to stop"),
    "ResetActivityExecution": _own("resets a standalone activity's attempts"),
    "PauseActivityExecution": _own("stops a standalone activity until someone unpauses it"),
    "UnpauseActivityExecution": _own("undoes an operator's deliberate pause"),
    "UpdateActivityExecutionOptions": _own("rewrites a standalone activity's timeouts and retry policy"),
    "TerminateNexusOperationExecution": _own("ends a Nexus operation at once"),
    "DeleteNexusOperationExecution": _own("deletes a Nexus operation and its record"),
    "RequestCancelNexusOperationExecution": _own("asks a Nexus operation to stop"),
    # activities of a workflow run
    "PauseActivity": _own("stops a run's activity until someone unpauses it"),
    "PauseActivityById": _own("stops a run's activity until someone unpauses it"),
    "UnpauseActivity": _own("undoes an operator's deliberate pause"),
    "UnpauseActivityById": _own("undoes an operator's deliberate pause"),
    "ResetActivity": _own("resets a running activity's attempts and heartbeat"),
    "ResetActivityById": _own("resets a running activity's attempts and heartbeat"),
    "UpdateActivityOptions": _own("rewrites a running activity's timeouts and retry policy"),
    "UpdateActivityOptionsById": _own("rewrites a running activity's timeouts and retry policy"),
    # schedules and batches
    "DeleteSchedule": _own("deletes a schedule: its future runs never start"),
    "UpdateSchedule": _own("replaces a schedule's spec and action"),
    "PatchSchedule": _own("pauses, unpauses, triggers or backfills a schedule"),
    "StartBatchOperation": _own("terminates, cancels, signals, deletes or resets every run a query matches"),
    "StopBatchOperation": _own("stops a batch operation someone started"),
    # rules, deployments and task routing
    "CreateWorkflowRule": _own("a rule acts on every matching run of the namespace (pauses activities)"),
    "DeleteWorkflowRule": _own("deletes a workflow rule"),
    "TriggerWorkflowRule": _own("applies a rule's action to a run"),
    "DeleteWorkerDeployment": _own("deletes a worker deployment's record"),
    "DeleteWorkerDeploymentVersion": _own("deletes a deployment version's record"),
    "SetWorkerDeploymentCurrentVersion": _own("sends every new task of a deployment to another version"),
    "SetWorkerDeploymentRampingVersion": _own("sends a share of a deployment's new tasks to another version"),
    "SetWorkerDeploymentManager": _own("changes who may manage a deployment"),
    "SetCurrentDeployment": _own("sends every new task of a deployment series to another build"),
    "UpdateWorkerDeploymentVersionComputeConfig": _own("changes the compute a deployment version runs on"),
    "UpdateWorkerVersioningRules": _own("rewrites which build ids a task queue's tasks go to"),
    "UpdateWorkerBuildIdCompatibility": _own("rewrites which build ids a task queue's tasks go to"),
    "UpdateWorkerBuildIdOrdering": _own(
        "rewrites which build ids a task queue's tasks go to (pre-1.21 name)"
    ),
    "UpdateTaskQueueConfig": _own("changes a task queue's rate limits: can starve its workers"),
    "UpdateWorkerConfig": _own("pushes a new config to running workers"),
}

_OPERATOR: dict[str, Destructive] = {
    "DeleteNamespace": _never(
        "deletes a namespace and every run in it (before 1.23 the call deletes at once and waits)"
    ),
    "AddOrUpdateRemoteCluster": _never(
        "adds or changes a replication peer; an empty address makes the frontend exit (AUTHZ-ADMIN-002)"
    ),
    "RemoveRemoteCluster": _never("drops a replication peer"),
    "AddSearchAttributes": _never("changes the visibility schema (cluster-wide on Elasticsearch)"),
    "RemoveSearchAttributes": _never("drops search attributes and what runs stored in them"),
    "CreateNexusEndpoint": _create("registers a cluster-wide endpoint name"),
    "UpdateNexusEndpoint": _own("rewrites where an endpoint's requests go"),
    "DeleteNexusEndpoint": _own("deletes an endpoint: its callers' requests fail"),
    # The Nexus prototype API of 1.23-1.24 (incoming/outgoing services): the harness creates none of these.
    "CreateNexusIncomingService": _never("the Nexus prototype API: the harness never creates these"),
    "CreateOrUpdateNexusIncomingService": _never("the Nexus prototype API: creates or rewrites a service"),
    "UpdateNexusIncomingService": _never("the Nexus prototype API: rewrites a service"),
    "DeleteNexusIncomingService": _never("the Nexus prototype API: deletes a service"),
    "CreateNexusOutgoingService": _never("the Nexus prototype API: the harness never creates these"),
    "UpdateNexusOutgoingService": _never("the Nexus prototype API: rewrites a service"),
    "DeleteNexusOutgoingService": _never("the Nexus prototype API: deletes a service"),
}

# AdminService is the cluster's own maintenance surface: whatever it names, its effect is the cluster's.
_ADMIN: dict[str, Destructive] = {
    "AddOrUpdateRemoteCluster": _never("an empty address makes the frontend exit (AUTHZ-ADMIN-002)"),
    "RemoveRemoteCluster": _never("drops a replication peer"),
    "AddSearchAttributes": _never("changes the visibility schema and its index"),
    "RemoveSearchAttributes": _never("drops search attributes from the visibility schema"),
    "CloseShard": _never("unloads a history shard: its in-flight tasks retry elsewhere"),
    "RemoveTask": _never("deletes a history task: a timer or transfer that never fires"),
    "AddTasks": _never("writes history tasks straight into a shard's queues"),
    "DeleteWorkflowExecution": _never("deletes a run's mutable state and history, even a corrupt one's"),
    "RebuildMutableState": _never("rewrites a run's mutable state from its history"),
    "RefreshWorkflowTasks": _never("regenerates a run's timer and transfer tasks"),
    "ReapplyEvents": _never("applies events (signals, updates) to a run again"),
    "ImportWorkflowExecution": _never("writes a run's history into the cluster"),
    "SyncWorkflowState": _never("overwrites a run's state with a replica's"),
    "ResendReplicationTasks": _never("replays replication tasks to a remote cluster"),
    "GenerateLastHistoryReplicationTasks": _never("queues replication tasks for a run"),
    "GetReplicationMessages": _never("reading acknowledges replication tasks for the named cluster"),
    "GetNamespaceReplicationMessages": _never("reading acknowledges namespace replication tasks"),
    "GetDLQReplicationMessages": _never("reads replication DLQ tasks on behalf of a peer"),
    "PurgeDLQMessages": _never("deletes dead-lettered tasks: they are never retried"),
    "PurgeDLQTasks": _never("deletes dead-lettered tasks: they are never retried"),
    "MergeDLQMessages": _never("re-enqueues dead-lettered tasks"),
    "MergeDLQTasks": _never("re-enqueues dead-lettered tasks"),
    "CancelDLQJob": _never("cancels a running DLQ purge or merge"),
    "GetDLQTasks": _never("an empty request crashed 1.27.3's history service (a nil pointer)"),
    "ForceUnloadTaskQueuePartition": _never("unloads a task queue partition: polls in flight are dropped"),
    "StartAdminBatchOperation": _never("acts on every run a query matches"),
    "MigrateSchedule": _never("moves a schedule between scheduler implementations"),
    # Not listed: StreamWorkflowReplicationMessages. The harness opens it only without the cluster and shard
    # metadata a peer sends, which the frontend's handler refuses before history on every release (a release
    # that does not authorize streams answers InvalidArgument "missing cluster & shard ID metadata"): nothing
    # is read or acknowledged, and it is the one probe that shows CVE-2026-5724 on a user's cluster.
}

DESTRUCTIVE: dict[str, Destructive] = {
    **{full_method(WORKFLOW_SERVICE, name): entry for name, entry in _WORKFLOW.items()},
    **{full_method(OPERATOR_SERVICE, name): entry for name, entry in _OPERATOR.items()},
    **{full_method(ADMIN_SERVICE, name): entry for name, entry in _ADMIN.items()},
}


def destructive(method: str) -> Destructive | None:
    """The list's entry for a full method name (`/service/Method`), None when it is not listed."""
    return DESTRUCTIVE.get(method)


@dataclass(frozen=True)
class Aim:
    """What a request names: the namespaces and ids a destructive call would act on."""

    namespaces: tuple[str, ...] = ()  # every `namespace` field, at any depth
    namespace_ids: tuple[str, ...] = ()  # every `namespace_id` field, at any depth
    ids: tuple[str, ...] = ()  # a by-id call's top-level `id` (Nexus endpoints)
    names: tuple[str, ...] = ()  # the name a create call gives its object (`spec.name`)

    @property
    def empty(self) -> bool:
        return not (self.namespaces or self.namespace_ids or self.ids or self.names)

    def as_dict(self) -> dict[str, list[str]]:
        fields = {
            "namespaces": self.namespaces,
            "namespace_ids": self.namespace_ids,
            "ids": self.ids,
            "names": self.names,
        }
        return {k: list(v) for k, v in fields.items() if v}


def _strings(message: Message, name: str) -> Iterator[str]:
    """Every set string field called `name` in the message and the messages inside it."""
    for descriptor, value in message.ListFields():
        if descriptor.type == descriptor.TYPE_MESSAGE:
            children: list[Any]
            entry = descriptor.message_type
            if entry is not None and entry.GetOptions().map_entry:
                children = list(value.values())  # a map: its values (scalars are skipped below)
            else:
                children = list(value) if descriptor.is_repeated else [value]
            for child in children:
                if isinstance(child, Message):
                    yield from _strings(child, name)
        elif descriptor.name == name and descriptor.type == descriptor.TYPE_STRING:
            yield from (list(value) if descriptor.is_repeated else [value])


def aim_of(request: Message | None) -> Aim:
    """The namespaces and ids a request names (an empty Aim for no request, or raw bytes)."""
    if request is None:
        return Aim()
    top = {d.name: v for d, v in request.ListFields()}
    spec = top.get("spec")
    name = getattr(spec, "name", "") if isinstance(spec, Message) else ""
    ident = top.get("id")
    return Aim(
        namespaces=tuple(dict.fromkeys(_strings(request, "namespace"))),
        namespace_ids=tuple(dict.fromkeys(_strings(request, "namespace_id"))),
        ids=(ident,) if isinstance(ident, str) and ident else (),
        names=(name,) if isinstance(name, str) and name else (),
    )


@dataclass
class Ownership:
    """Whose server this is, and what the harness created on it (learnt from the answers it got).

    `owned`: the harness started this server; everything on it is its own. Otherwise `namespaces` are the
    names the harness registers there for its runs (target.SUITE_NAMESPACES on a --target; none for a
    profile's or explain's target), and `endpoints` the Nexus endpoints it created in this run."""

    owned: bool = True
    namespaces: set[str] = field(default_factory=set)
    registered: dict[str, str] = field(default_factory=dict)  # namespace -> "registered" | "already there"
    endpoints: dict[str, str] = field(default_factory=dict)  # Nexus endpoint id -> name
    removed: dict[str, str] = field(default_factory=dict)  # what the harness removed again: id -> name
    runs: dict[tuple[str, str], str] = field(default_factory=dict)  # (namespace, workflow id) -> run id
    schedules: set[tuple[str, str]] = field(default_factory=set)  # (namespace, schedule id)

    @classmethod
    def foreign(cls, namespaces: Iterable[str] = ()) -> Ownership:
        return cls(owned=False, namespaces=set(namespaces))

    def claim(self, names: Iterable[str]) -> None:
        """The harness registers these namespaces here for its runs: from now on they are its own. Only
        names with the harness's prefix can be claimed: registering a name someone else uses claims it not."""
        self.namespaces.update(n for n in names if n.startswith(HARNESS_PREFIX))

    def refusal(self, method: str, aim: Aim) -> str:
        """Why `method` aimed at `aim` must not be sent here ("" when it may be)."""
        entry = destructive(method)
        if entry is None or self.owned:
            return ""
        short = method.strip("/").rsplit(".", 1)[-1]
        if entry.reach is Reach.NEVER:
            return f"{short} {entry.why}: never sent to a cluster the harness does not own"
        registers = method.endswith("/RegisterNamespace")  # the namespace it names is the one it creates
        created = aim.namespaces if registers else aim.names
        if entry.reach is Reach.CREATE and (
            not created or any(not n.startswith(HARNESS_PREFIX) for n in created)
        ):
            named = ", ".join(created) or "nothing"
            return f"{short} {entry.why}: it would create {named}, not a name of the harness's ({HARNESS_PREFIX}...)"
        foreign = [] if registers else [n for n in aim.namespaces if n not in self.namespaces]
        foreign += [f"namespace id {i}" for i in aim.namespace_ids]  # the harness keeps no namespace ids
        foreign += [f"endpoint {i}" for i in aim.ids if i not in self.endpoints]
        foreign += [f"name {n}" for n in aim.names if not n.startswith(HARNESS_PREFIX)]
        if foreign:
            return f"{short} {entry.why}: it names {', '.join(foreign)}, which the harness did not create"
        if aim.empty:
            return f"{short} {entry.why}: it names nothing the harness created"
        return ""

    def answered(self, method: str, request: Message | None, response: Message | None, status: str) -> None:
        """Keep what a call created or removed (`status`: "OK" or the gRPC status name of its error)."""
        if self.owned or request is None:
            return
        name = method.rsplit("/", 1)[-1]
        aim = aim_of(request)
        if name == "RegisterNamespace" and aim.namespaces and status in ("OK", "ALREADY_EXISTS"):
            self.registered.setdefault(aim.namespaces[0], "registered" if status == "OK" else "already there")
            self.claim(aim.namespaces)  # the harness's from now on (its names only: see claim())
        elif name == "CreateNexusEndpoint" and status == "OK" and response is not None:
            endpoint = getattr(response, "endpoint", None)
            ident = getattr(endpoint, "id", "")
            if ident:
                self.endpoints[str(ident)] = aim.names[0] if aim.names else ""
        elif name == "DeleteNexusEndpoint" and status == "OK" and aim.ids:
            self.removed[aim.ids[0]] = self.endpoints.get(aim.ids[0], "")
        elif name in ("StartWorkflowExecution", "SignalWithStartWorkflowExecution") and status == "OK":
            namespace, workflow_id = getattr(request, "namespace", ""), getattr(request, "workflow_id", "")
            self.runs[(namespace, workflow_id)] = str(getattr(response, "run_id", ""))
        elif name == "CreateSchedule" and status == "OK":
            self.schedules.add((getattr(request, "namespace", ""), getattr(request, "schedule_id", "")))
