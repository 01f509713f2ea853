"""A synthetic but realistic run, recorded as the plugin records one: a grid over three access classes and
a method no API table lists, on two surfaces; findings confirmed, not confirmed and refuted; a failure, a
harness error, a known deviation, a skip; metrics, coverage and model mutants (one survived).

It exercises every part of fixtures/report.schema.json (tests/test_report.py checks that it does)."""

from __future__ import annotations

from typing import Any

from harness.report.recorder import CaseRecord, Recorder
from harness.report.speed import COUNTED_BY_RUNNER, speed_block
from harness.requirements import load_catalogue
from harness.types import Verdict

VERSION = "v1.32.2"
OWN, OTHER = "authz-matrix", "authz-other"
SHAPES: dict[str, dict[str, Any]] = {
    "NamespaceReader": {"permissions": [f"{OWN}:read"], "anonymous": False, "note": ""},
    "NamespaceReaderWriter": {
        "permissions": [f"{OWN}:read", f"{OWN}:write"],
        "anonymous": False,
        "note": "the sample's worker token",
    },
    "NoPermissionsClaim": {"permissions": None, "anonymous": False, "note": ""},
    "Anonymous": {"permissions": None, "anonymous": True, "note": ""},
}
# method -> the role it needs (None: exempt or absent), as the API table says
METHODS = {
    "WorkflowService/DescribeNamespace": "read",
    "WorkflowService/StartWorkflowExecution": "write",
    "OperatorService/DeleteNamespace": "admin",
    "WorkflowService/MethodOfATomorrowServer": None,  # in no API table: its own group, absent here
}
ROLES = {"NamespaceReader": {"read"}, "NamespaceReaderWriter": {"read", "write"}}
# The one cell where the server and the model disagree (a FAIL), and the one that errors.
MISMATCH = ("NamespaceReader", "WorkflowService/StartWorkflowExecution", "Own")
ERRORED = ("NamespaceReaderWriter", "OperatorService/DeleteNamespace", "Other")
MOVING_KEYS = ("Anonymous", "WorkflowService/DescribeNamespace", "Other")
MISMATCH_NODEID = "suites/test_matrix.py::test_cell[NamespaceReaderOnStartWorkflowExecution-Own]"
FAIL_NODEID = "suites/test_smoke.py::test_anonymous_call_is_refused"


def token_evidence(shape: str) -> dict[str, Any]:
    spec = SHAPES[shape]
    if spec["anonymous"]:
        return {"token": None}
    claims: dict[str, Any] = {"sub": f"grid-{shape}", "iat": 1795420558, "exp": 1795424158}
    if spec["permissions"] is not None:
        claims["permissions"] = spec["permissions"]
    return {
        "header": {"alg": "RS256", "kid": "harness-rsa", "typ": "JWT"},
        "claims": claims,
        "signed_by": "ad3304a6534aeba3",
    }


def _expected(shape: str, api: str, column: str) -> str:
    need = METHODS[api]
    if need is None:
        return "ABSENT"
    granted = ROLES.get(shape, set()) if column == "Own" else set()
    return "ALLOWED" if need in granted else "DENIED"


def _cell(rec: Recorder, shape: str, api: str, column: str, surface: str = "grpc") -> None:
    expected = _expected(shape, api, column)
    observed, verdict = expected, Verdict.PASS
    if (shape, api, column) == MISMATCH:
        observed, verdict = "ALLOWED", Verdict.FAIL
    if (shape, api, column) == ERRORED:
        observed, verdict = "ERROR", Verdict.FAIL
    cell_expected = expected
    if (shape, api, column) == MOVING_KEYS:
        cell_expected = "['ALLOWED', 'DENIED']"  # the keys moved while it ran: either answer is right
    status = {
        "ALLOWED": "OK",
        "DENIED": "PERMISSION_DENIED",
        "ABSENT": "UNIMPLEMENTED",
        "ERROR": "UNAVAILABLE",
    }[observed]
    message = {"DENIED": "Request unauthorized.", "ERROR": "connection reset"}.get(observed, "")
    namespace = OWN if column == "Own" else OTHER
    method = api.rpartition("/")[2]
    nodeid = (
        f"suites/test_matrix.py::test_cell[{shape}On{method}-{column}]"
        if surface == "grpc"
        else f"suites/test_http.py::test_http_cell[{shape}-{method}-{column}]"
    )
    rec.add(
        CaseRecord(
            nodeid,
            "AUTHZ-MATRIX-001" if surface == "grpc" else "AUTHZ-HTTP-001",
            verdict,
            0.0005,
            {
                "expected": expected if cell_expected == expected else ["ALLOWED", "DENIED"],
                "observed": observed,
                "api": f"/temporal.api.workflowservice.v1.{api}",
                "surface": surface,
                "namespace": namespace,
                "claims": token_evidence(shape),
                "status": status,
                "message": message,
                "reason": f"system|namespace '{namespace}' role 2 < WRITER (4)",
            },
            message="expected DENIED, observed ALLOWED" if verdict is Verdict.FAIL else "",
            cell={
                "token_shape": shape,
                "api": api,
                "namespace_column": column,
                "namespace": namespace,
                "expected": cell_expected,
                "observed": observed,
                "status": status,
                "surface": surface,
            },
        )
    )


def _calls(**outcomes: str) -> dict[str, str]:
    return {"exempt": "ALLOWED", **outcomes}


def _case(
    rec: Recorder,
    nodeid: str,
    requirement: str,
    verdict: Verdict,
    finding_holds: bool | None = None,
    message: str = "",
    observed: dict[str, str] | None = None,
) -> None:
    expected = _calls(read="ALLOWED", write="DENIED")
    evidence: dict[str, Any] = {
        "expected": expected,
        "observed": observed or expected,
        "api": "exempt=GetSystemInfo, read=DescribeNamespace, write=StartWorkflowExecution",
        "surface": "grpc",
        "namespace": "authz-conformance",
        "claims": token_evidence("NamespaceReader"),
        "presentation": ["<server header>: Bearer' '<token>"],
        "status": None,
        "message": None,
        "reason": "exempt: health-check API: always allowed; read: role 2 >= READER (2); write: role 2 < WRITER (4)",
        "extra": {
            "server": {"exempt": "OK", "read": "OK", "write": "PERMISSION_DENIED 'Request unauthorized.'"},
            "config": {"permissionsClaimName": "permissions"},
        },
    }
    if finding_holds is not None:
        evidence["finding_holds"] = finding_holds
    rec.add(CaseRecord(nodeid, requirement, verdict, 1.25, evidence, message=message))


def rich_recorder() -> Recorder:
    rec = Recorder(catalogue=load_catalogue())
    rec.server.update(
        {"version": VERSION, "backend": "process", "era": "1.29+", "model_mutant": "", "mutations": {}}
    )
    # The container backend's image and how its first server ran (harness/server/container.py).
    rec.server.update(
        binary_source="image",
        image="temporalio/server:1.32.2",
        image_source="present",
        image_id="sha256:" + "0" * 64,
        image_digest="temporalio/server@sha256:" + "1" * 64,
        container={
            "user": "1000:1000 (temporal): the image's USER temporal",
            "uid": 1000,
            "gid": 1000,
            "groups": [1000],
            "capabilities_effective": "0000000000000000",
            "no_new_privs": True,
            "read_only_rootfs": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "network_mode": "host",
        },
    )
    # What a --target run created on the cluster, removed and left (harness/server/leftovers.py).
    rec.server["created_on_target"] = {
        "target": "staging:7233",
        "namespaces": [{"name": OWN, "state": "registered", "removed": False}],
        "nexus_endpoints": [{"id": "e-1", "name": "authz-1a2b3c4d", "removed": True}],
        "schedules": 1,
        "runs_started": 3,
        "removed": {"nexus_endpoints": 1, "schedules": 1, "open_runs_terminated": 2},
        "left": [{"what": [OWN], "why": "namespaces are left"}],
        "errors": {},
    }
    for sample in (0.517, 0.8821, 1.2387):
        rec.add_metric_sample("server_start_to_ready_s", sample)
    rec.metric("default_server_ready_s", 6.537)
    rec.metric("grid_cells_per_s", 2807.2)
    rec.metric("probe_concurrency", 32)
    rec.metric("rotation_workflows", {"started": 120, "completed": 120, "lost": 0})
    rec.metric("file_wall_s", {"test_matrix.py": 18.2, "test_expiry.py": 39.4, "test_tokens.py": 6.1})
    rec.metric(
        "speed",
        speed_block(
            wall_s=95.3,
            file_wall_s=rec.metrics["file_wall_s"],
            cpu_s=210.5,
            cpu_counted=COUNTED_BY_RUNNER,
            decisions=9981,
        ),
    )
    rec.coverage.update({"api_methods_probed": len(METHODS), "token_shapes": SHAPES})
    for shape in SHAPES:
        for api in METHODS:
            for column in ("Own", "Other"):
                _cell(rec, shape, api, column)
    _cell(rec, "NamespaceReader", "WorkflowService/DescribeNamespace", "Own", surface="http")
    # findings: confirmed, not confirmed (a test failed), refuted
    _case(rec, "suites/test_matrix.py::test_worker_role_alone", "AUTHZ-MATRIX-002", Verdict.PASS, True)
    _case(
        rec,
        "suites/test_tokens.py::test_case[AUTHZ-CLAIMS-001-PermissionsAsString]",
        "AUTHZ-CLAIMS-001",
        Verdict.PASS,
        True,
    )
    _case(
        rec,
        "suites/test_tokens.py::test_case[AUTHZ-CLAIMS-001-PermissionsAsObject]",
        "AUTHZ-CLAIMS-001",
        Verdict.FAIL,
        message="the server answered INTERNAL",
        observed=_calls(read="ERROR", write="DENIED"),
    )
    _case(
        rec,
        "suites/test_tokens.py::test_case[AUTHZ-CLAIMS-005-SpacesAroundColon]",
        "AUTHZ-CLAIMS-005",
        Verdict.PASS,
        False,
    )
    _case(
        rec,
        FAIL_NODEID,
        "AUTHZ-GUARD-001",
        Verdict.FAIL,
        message="boom <script>alert(1)</script>\nsecond line",
        observed=_calls(read="ALLOWED", write="ALLOWED"),
    )
    _case(
        rec,
        "suites/test_jwks.py::test_outage_at_start",
        "AUTHZ-JWKS-001",
        Verdict.HARNESS_ERROR,
        message="HarnessError: the JWKS fixture did not start",
    )
    _case(rec, "suites/test_header.py::test_trailing_whitespace", "AUTHZ-HEADER-005", Verdict.KNOWN)
    _case(
        rec, "suites/test_stream.py::test_reflection", "AUTHZ-STREAM-002", Verdict.SKIP, message="since 1.30"
    )
    # Security property tests: one path held, one violated (an advisory's case), one skipped.
    rec.add(
        CaseRecord(
            "suites/test_streams.py::test_anonymous_replication_stream", "SEC-P1", Verdict.FAIL, 0.02,
            {"expected": "refused", "observed": "opened (InvalidArgument past authorization)"},
            "SEC-P1/replication-stream VIOLATED", prop="SEC-P1", path="replication-stream",
        )
    )  # fmt: skip
    rec.add(
        CaseRecord(
            "suites/test_security.py::test_batch", "SEC-P2", Verdict.PASS, 1.5, prop="SEC-P2", path="batch"
        )
    )
    rec.add(
        CaseRecord(
            "suites/test_security.py::test_compute", "SEC-P7", Verdict.SKIP, 0.0, message="not on 1.32.2",
            prop="SEC-P7", path="compute-provider",
        )
    )  # fmt: skip
    rec.mutants = {
        "total": 2,
        "killed": 1,
        "survived": ["exp-leeway-1s"],
        "questions_replayed": 40,
        "replay_s": 0.42,
        "mutants": [
            {
                "name": "worker-is-reader",
                "area": "claim mapper",
                "description": "`worker` maps to Reader (as if Worker were 2)",
                "killed": True,
                "killed_by": [
                    {
                        "requirement": "AUTHZ-MATRIX-002",
                        "test": "suites/test_matrix.py::test_worker_role_alone",
                        "observed": "DENIED",
                        "mutant_expects": "ALLOWED",
                    }
                ],
            },
            {
                "name": "exp-leeway-1s",
                "area": "claim mapper",
                "description": "one second of leeway on exp",
                "killed": False,
                "killed_by": [],
            },
        ],
    }
    return rec


def rich_report() -> dict[str, Any]:
    data = rich_recorder().to_json(exit_status=1)
    data["run"]["complete"] = True  # a sharded run's merge says whether every shard reported
    return data
