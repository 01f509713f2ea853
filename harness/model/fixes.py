"""Behaviour that security fixes changed, keyed by release line and patch.

Security fixes are back-ported to patch releases of older lines, so one minor-version threshold per fix is
wrong for those lines (v1.27.4 re-authorizes cross-namespace commands although 1.28.0 does not). Each fix
here names, per line, the first release whose source has it, read from the fix commits on each release
branch and confirmed in the released module source (research notes in docs/security.md); a line not listed
before the first fully fixed line never got the fix, and every line from `all_from` on has it.

fixtures/advisories.yaml names the same releases as `fixed_in`: tests/test_fixes.py holds them equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.types import ServerVersion

Release = tuple[int, int, int]


@dataclass(frozen=True)
class Fix:
    """A behaviour a fix switched on: which releases have it."""

    name: str
    all_from: tuple[int, int]  # (major, minor): every release of this line and later lines has the fix
    first_in_line: Mapping[tuple[int, int], Release] = field(default_factory=dict)  # older lines: first patch
    since: tuple[int, int] | None = None  # the surface exists from this line on (None: in every release)
    source: str = ""

    def has(self, version: ServerVersion) -> bool:
        line = (version.major, version.minor)
        if line >= self.all_from:
            return True
        first = self.first_in_line.get(line)
        return first is not None and version >= first

    def flips(self) -> dict[str, str]:
        """Per line, the release where the behaviour flips ("never" where no release of the line has it)."""
        return {f"{m}.{n}": f"v{m}.{n}.{p}" for (m, n), (_, _, p) in sorted(self.first_in_line.items())}


# CVE-2025-14987 (GHSA-hmhp-gh8m-c8xp): RespondWorkflowTaskCompleted commands aimed at another namespace are
# re-authorized there (authorizeTargetNamespaces, #8858; 1.29 #8871, 1.27 02eb9d3605, 1.28 ef1aa46272).
CROSS_NAMESPACE_REAUTHORIZATION = Fix(
    "cross_namespace_reauthorized",
    all_from=(1, 30),
    first_in_line={(1, 27): (1, 27, 4), (1, 28): (1, 28, 2), (1, 29): (1, 29, 2)},
    source="common/authorization/interceptor.go authorizeTargetNamespaces",
)
# CVE-2025-14986 (GHSA-p2gr-hm8g-q772): ExecuteMultiOperation refuses an inner request naming another
# namespace (errMultiOpNamespaceMismatch, #8839; 1.27 099cb9005c, 1.28 c37b8ae6da, 1.29 #8871).
MULTI_OPERATION_NAMESPACE_CHECK = Fix(
    "multi_operation_namespace_checked",
    all_from=(1, 30),
    first_in_line={(1, 27): (1, 27, 4), (1, 28): (1, 28, 2), (1, 29): (1, 29, 2)},
    since=(1, 24),
    source="service/frontend/workflow_handler.go convertToHistoryMultiOperationItem",
)
# CVE-2026-5724 (GHSA-q98v-9f9w-f49q): streams authorized when they open (InterceptStream; 1.28 3ab1eb25e7,
# 1.29 222230ff84, 1.30 f604b083a0, main #9917; 1.31 #10949). v1.31.0 and v1.31.1 were cut from main before
# #9917 merged: they lack it although v1.30.4 has it.
STREAM_AUTHORIZATION = Fix(
    "streams_authorized",
    all_from=(1, 32),
    first_in_line={(1, 28): (1, 28, 4), (1, 29): (1, 29, 6), (1, 30): (1, 30, 4), (1, 31): (1, 31, 2)},
    source="service/frontend/fx.go authInterceptor.InterceptStream",
)
# CVE-2026-5199 (GHSA-xpg8-3hhp-p7w8): the batcher refuses an input whose inner request names another
# namespace than the worker's (#9767; 1.29 90738c6200, 1.30 5a6ff9007b). The proto batch input that
# carries the inner request exists from 1.29.0; older lines compared the namespace name already.
BATCH_NAMESPACE_CHECK = Fix(
    "batch_namespace_checked",
    all_from=(1, 31),
    first_in_line={(1, 29): (1, 29, 5), (1, 30): (1, 30, 3)},
    since=(1, 29),
    source="service/worker/batcher/activities.go checkNamespace",
)
# CVE-2026-87858: a completion callback's `source` header no longer routes it to internal-frontend. 1.30.7
# and 1.31.3 carry the code behind callback.inspectSourceHeader, default true (still routed); 1.32.0 turns
# the default to false (#11965; #12085, #11982).
CALLBACK_SOURCE_IGNORED = Fix(
    "callback_source_ignored_by_default",
    all_from=(1, 32),
    since=(1, 25),
    source="components/callbacks/request.go routeRequest",
)
CALLBACK_SOURCE_KNOB = Fix(
    "callback_source_knob",
    all_from=(1, 32),
    first_in_line={(1, 30): (1, 30, 7), (1, 31): (1, 31, 3)},
    since=(1, 25),
    source="chasm/lib/callback/config.go callback.inspectSourceHeader",
)
# CVE-2026-89140: an internal (temporal://internal) completion callback must target the caller's namespace
# (validateInternalCallback; released source v1.30.8, v1.31.4, v1.32.1).
INTERNAL_CALLBACK_BOUND = Fix(
    "internal_callback_bound",
    all_from=(1, 33),
    first_in_line={(1, 30): (1, 30, 8), (1, 31): (1, 31, 4), (1, 32): (1, 32, 1)},
    since=(1, 30),
    source="service/frontend/workflow_handler.go validateInternalCallback",
)
# CVE-2026-120091: ValidateWorkerDeploymentVersionComputeConfig needs Write (was ReadOnly), and the Kubernetes
# compute provider is out of default builds (released source v1.31.5, v1.32.2; the API tables carry the
# access class).
COMPUTE_CONFIG_WRITE = Fix(
    "compute_config_needs_write",
    all_from=(1, 33),
    first_in_line={(1, 31): (1, 31, 5), (1, 32): (1, 32, 2)},
    since=(1, 31),
    source="common/api/metadata.go ValidateWorkerDeploymentVersionComputeConfig",
)
# CVE-2026-104355: inbound namespace replication skips local namespaces (v1.30.8, v1.31.4, v1.32.1). Needs a
# peer cluster: not reproduced here, kept for the record and the advisories' consistency test.
LOCAL_NAMESPACE_REPLICATION_SKIPPED = Fix(
    "local_namespace_replication_skipped",
    all_from=(1, 33),
    first_in_line={(1, 30): (1, 30, 8), (1, 31): (1, 31, 4), (1, 32): (1, 32, 1)},
    source="common/namespace/nsreplication/replication_task_executor.go shouldProcessTask",
)

FIXES: dict[str, Fix] = {
    f.name: f
    for f in (
        CROSS_NAMESPACE_REAUTHORIZATION,
        MULTI_OPERATION_NAMESPACE_CHECK,
        STREAM_AUTHORIZATION,
        BATCH_NAMESPACE_CHECK,
        CALLBACK_SOURCE_IGNORED,
        CALLBACK_SOURCE_KNOB,
        INTERNAL_CALLBACK_BOUND,
        COMPUTE_CONFIG_WRITE,
        LOCAL_NAMESPACE_REPLICATION_SKIPPED,
    )
}
