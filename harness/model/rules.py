"""Server behaviour that changes with the version, and the authorization config the model assumes."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from harness.model.fixes import (
    BATCH_NAMESPACE_CHECK,
    CALLBACK_SOURCE_IGNORED,
    CALLBACK_SOURCE_KNOB,
    CROSS_NAMESPACE_REAUTHORIZATION,
    FIXES,
    INTERNAL_CALLBACK_BOUND,
    MULTI_OPERATION_NAMESPACE_CHECK,
    STREAM_AUTHORIZATION,
    Fix,
)
from harness.types import ServerVersion


@dataclass(frozen=True)
class JoseDialect:
    """What the release's go-jose checks when it decodes a key (its go.mod: gopkg.in/square/go-jose.v2
    v2.6.0 to 1.23.0, gopkg.in/go-jose/go-jose.v2 v2.6.3 to 1.27, github.com/go-jose/go-jose/v4 v4.0.5 to
    v4.1.6 from 1.28). By default the newest, v4.1.6 (1.32.2)."""

    # v2: rawJSONWebKey has `X5u *url.URL` (jwk.go:66), which JSON cannot fill from a string.
    x5u_is_url_struct: bool = False
    # v4.1.6: RSA moduli over 4096 bits refused, Ed25519 keys validated (x's length and low-order points,
    # d's length, d deriving x). Before, x and d are copied into 32-byte buffers, whatever their length.
    validates_keys: bool = True


NEWEST = JoseDialect()

# go-jose v4.1.6's key checks (jwk.go validateEd25519PublicKey, MaxRSAModulusBits), per line: the first
# release whose go.mod requires v4.1.6 (v1.30.9, v1.31.5, v1.32.2; before, v4.1.4 or older).
JOSE_KEY_VALIDATION = Fix(
    "jwk_keys_validated",
    all_from=(1, 33),
    first_in_line={(1, 30): (1, 30, 9), (1, 31): (1, 31, 5), (1, 32): (1, 32, 2)},
    source="go.mod github.com/go-jose/go-jose/v4 v4.1.6",
)


@dataclass(frozen=True)
class ServerRules:
    """The behaviour switches of one server version (see temporal-authz-facts.md section 7)."""

    version: ServerVersion
    system_scope: str  # "system" (EqualFold) on 1.20.x, "temporal-system" (exact) since 1.21
    namespaces_case_insensitive: bool  # 1.20.x lower-cases namespaces in claims and lookups
    metadata_authorizer: bool  # 1.22+: scope/access from common/api metadata
    admin_services_need_admin: bool  # 1.21: Admin/Operator need namespace admin
    split_n: bool  # 1.29+: SplitN for "<scheme> <token>" and "ns:role"
    regex_supported: bool  # permissionsRegex, 1.29+
    audience_supported: bool  # audience, 1.29+
    header_name_configurable: bool  # authHeaderName, 1.23+
    header_name_case_insensitive: bool  # md.Get, 1.24+
    # Commands aimed at another namespace are re-authorized there (CVE-2025-14987; per line: fixes.py).
    cross_namespace_reauthorized: bool
    cross_namespace_commands_default: bool  # system.enableCrossNamespaceCommands default (false since 1.30)
    # Streams (reflection, health Watch, AdminService streams) authorized when they open (CVE-2026-5724):
    # 1.28.4+, 1.29.6+, 1.30.4+, 1.31.2+ and 1.32, but not 1.31.0 and 1.31.1 (released without the backport).
    streams_authorized: bool
    file_key_sources: bool  # file:// keySourceURIs read from disk (1.32.0+, #9590)
    # frontend.enablePrincipalPropagation stamps the caller on history events (1.31.0+); inbound
    # temporal-principal-* headers are stripped from the same release.
    principal_propagation: bool
    # 1.22.4+: the authorization interceptor runs before redirection (which looks the namespace up) and
    # telemetry (service_requests). Before, a WorkflowService call naming a namespace the server lacks
    # fails NotFound before any check, and every call is counted in service_requests (service/frontend/fx.go).
    authorization_first: bool = True
    jose: JoseDialect = field(default_factory=lambda: NEWEST)  # the key provider's go-jose
    # internal-frontend serves the HTTP API from 1.29.0 (httpEnabled); before, only the frontend did.
    internal_http: bool = True
    # Streams a release does not serve at all (full methods): _absent_streams.
    absent_streams: frozenset[str] = frozenset()
    # Before 1.24 a task completion reached the task token's namespace, whatever namespace the request
    # named (workflow_handler.go: namespace.ID(taskToken.GetNamespaceId()) to 1.22; seen live on 1.23.1).
    completion_follows_token: bool = False
    # Security fixes back-ported per line (harness.model.fixes), besides the two above:
    multi_operation_namespace_checked: bool = (
        True  # ExecuteMultiOperation refuses an inner namespace (CVE-2025-14986)
    )
    batch_namespace_checked: bool = True  # the batcher refuses a forged inner namespace (CVE-2026-5199)
    # A completion callback's `source` header routes it to internal-frontend unless callback.inspectSourceHeader
    # is false (CVE-2026-87858): the knob exists from 1.30.7/1.31.3 (default true), 1.32 defaults it to false.
    callback_source_knob: bool = True
    callback_source_ignored_by_default: bool = True
    internal_callback_bound: bool = (
        True  # temporal://internal callbacks bound to the caller's namespace (CVE-2026-89140)
    )
    # What a release has that suites need (harness.model.features names each one as a Feature):
    http_api: bool = True  # the frontend's HTTP API (grpc-gateway, services.*.rpc.httpPort), 1.22.0+
    extra_header_name_configurable: bool = True  # authExtraHeaderName, 1.23+
    # DeleteNamespaceRequest has namespace_id, which lets a probe fail after authorization (1.23+); before,
    # an allowed DeleteNamespace deletes for real and waits for the deletion.
    delete_namespace_by_id: bool = True
    nexus_endpoints: bool = True  # OperatorService.CreateNexusEndpoint and the Nexus HTTP routes, 1.25+
    http_allowed_hosts: bool = True  # frontend.httpAllowedHosts (the HTTP API's Host check), 1.26+
    # The API metadata has DispatchNexusTask*/CompleteNexusOperation (1.28+); before, every Nexus dispatch
    # over HTTP is denied and completions take other routes.
    nexus_completion_metadata: bool = True
    # frontend.httpAllowedHosts through ConvertWildcardStringListToRegexp as the oracle's hosts_129.go reads
    # it (1.29+; harness/oracle/build.py builds the *_129.go files where this and the next hold).
    allowed_hosts_converted: bool = True
    # The interceptor's header lookup as the oracle's header_129.go calls it (1.29+; before, the oracle has
    # stubs only: harness/oracle/build.py).
    oracle_header_lookup: bool = True
    scheduler_v2: bool = True  # Scheduler V2 (CHASM) and its internal completion callbacks, 1.30+
    # WorkflowService's Nexus task queue calls (PollNexusTaskQueue, RespondNexusTask*), 1.23+.
    nexus_apis: bool = True
    # The model's own reading of a release, thresholds the harness had kept beside it:
    # 1.20.3+: the noop claim mapper maps a caller with no auth info too (before, only one that sent some).
    noop_mapper_without_auth_info: bool = True
    # 1.21.5+: the pre-1.22 authorizer lists GetWorkerBuildIdCompatibility/GetWorkerTaskReachability as
    # read-only namespace APIs (frontend_api.go of the 1.21 line).
    versioning_reads_read_only: bool = True
    # 1.25+: the interceptor reads the header with metadata.ValueFromIncomingContext (common/headers
    # GRPCHeaderGetter.Get): the name exactly, else the first name strings.EqualFold matches. Before, it
    # lower-cases the name (1.24) or looks it up exactly (1.23).
    header_lookup_folds: bool = True
    # 1.31+: internal-frontend's claim mapper is the internal one (subject "internal"); before, the noop
    # mapper (subject "") — both make every caller a system admin (temporal/fx.go).
    internal_claim_mapper: bool = True
    # 1.31+: frontend.nexusRequestHeadersBlacklist has a default list (dynamicconfig/constants.go); before,
    # it is empty.
    nexus_headers_blacklisted_by_default: bool = True
    # 1.30+: the /nexus/callback route (PathCompletionCallbackNoIdentifier) serves completions whose path
    # names no namespace.
    nexus_callback_route: bool = True
    # 1.30+: a Nexus completion is authorized in its callback token's namespace; before, in the route's
    # namespace, and a token of another namespace is refused after it (components/nexusoperations/frontend
    # handler.go: 400 "invalid callback token").
    nexus_completion_by_token_namespace: bool = True
    # What the harness must write or build for a release (its config, command line, image, API table):
    # clusterMetadata.clusterInformation.*.httpAddress, read since 1.24.0 (older loaders ignore it).
    cluster_http_address: bool = True
    # 1.31.0+: the worker service serves gRPC on its grpcPort; before, the port only names it in membership.
    worker_grpc: bool = True
    # 1.30.0+: the server takes --config-file; before, --root/--config/--env (temporal/server.go flags).
    config_file_flag: bool = True
    # 1.30.0+: the official image is built from the server repository (no docker-builds repo, no shell).
    image_from_server_repository: bool = True
    # 1.23.0+: go.temporal.io/api is generated on google.golang.org/protobuf (gogo before), so its proto
    # descriptors give the methods.
    api_on_protobuf: bool = True
    # 1.24.0+: common/api's metadata lists NexusService (the frontend's Nexus HTTP handler methods).
    nexus_service_in_api_metadata: bool = True
    # 1.32.0+: global.authorization.remoteClusterAuth exists; required without a TokenProvider, the server
    # refuses to start (temporal/fx.go).
    remote_cluster_auth: bool = True

    def fixed(self, fix: str) -> bool:
        """Whether this release has a security fix of harness.model.fixes (by its name)."""
        return FIXES[fix].has(self.version)

    @property
    def era(self) -> str:
        if not self.metadata_authorizer:
            return "1.20" if self.namespaces_case_insensitive else "1.21"
        return "1.29+" if self.split_n else "1.22-1.28"


def rules_for(version: ServerVersion | str) -> ServerRules:
    return _rules_for(ServerVersion.parse(version) if isinstance(version, str) else version)


@functools.cache  # a pure function of the version, asked ~40,000 times a run (every token's header name)
def _rules_for(v: ServerVersion) -> ServerRules:
    if v < (1, 20, 0):
        raise ValueError(f"server {v} predates the supported range (1.20.0 and later)")
    return ServerRules(
        version=v,
        system_scope="system" if v < (1, 21, 0) else "temporal-system",
        namespaces_case_insensitive=v < (1, 21, 0),
        metadata_authorizer=v >= (1, 22, 0),
        admin_services_need_admin=v >= (1, 21, 0),
        split_n=v >= (1, 29, 0),
        regex_supported=v >= (1, 29, 0),
        audience_supported=v >= (1, 29, 0),
        header_name_configurable=v >= (1, 23, 0),
        header_name_case_insensitive=v >= (1, 24, 0),
        cross_namespace_reauthorized=CROSS_NAMESPACE_REAUTHORIZATION.has(v),
        cross_namespace_commands_default=v < (1, 30, 0),
        streams_authorized=STREAM_AUTHORIZATION.has(v),
        file_key_sources=v >= (1, 32, 0),
        jose=JoseDialect(x5u_is_url_struct=v < (1, 28, 0), validates_keys=JOSE_KEY_VALIDATION.has(v)),
        principal_propagation=v >= (1, 31, 0),
        authorization_first=v >= (1, 22, 4),
        internal_http=v >= (1, 29, 0),
        absent_streams=_absent_streams(v),
        completion_follows_token=v < (1, 24, 0),
        multi_operation_namespace_checked=MULTI_OPERATION_NAMESPACE_CHECK.has(v),
        batch_namespace_checked=v < (1, 29, 0) or BATCH_NAMESPACE_CHECK.has(v),
        callback_source_knob=CALLBACK_SOURCE_KNOB.has(v),
        callback_source_ignored_by_default=CALLBACK_SOURCE_IGNORED.has(v),
        internal_callback_bound=v < (1, 30, 0) or INTERNAL_CALLBACK_BOUND.has(v),
        http_api=v >= (1, 22, 0),
        extra_header_name_configurable=v >= (1, 23, 0),
        delete_namespace_by_id=v >= (1, 23, 0),
        nexus_endpoints=v >= (1, 25, 0),
        http_allowed_hosts=v >= (1, 26, 0),
        nexus_completion_metadata=v >= (1, 28, 0),
        allowed_hosts_converted=v >= (1, 29, 0),
        oracle_header_lookup=v >= (1, 29, 0),
        scheduler_v2=v >= (1, 30, 0),
        nexus_apis=v >= (1, 23, 0),
        noop_mapper_without_auth_info=v >= (1, 20, 3),
        versioning_reads_read_only=v >= (1, 21, 5),
        header_lookup_folds=v >= (1, 25, 0),
        internal_claim_mapper=v >= (1, 31, 0),
        nexus_headers_blacklisted_by_default=v >= (1, 31, 0),
        nexus_callback_route=v >= (1, 30, 0),
        nexus_completion_by_token_namespace=v >= (1, 30, 0),
        cluster_http_address=v >= (1, 24, 0),
        worker_grpc=v >= (1, 31, 0),
        config_file_flag=v >= (1, 30, 0),
        image_from_server_repository=v >= (1, 30, 0),
        api_on_protobuf=v >= (1, 23, 0),
        nexus_service_in_api_metadata=v >= (1, 24, 0),
        remote_cluster_auth=v >= (1, 32, 0),
    )


REFLECTION_V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
REPLICATION_STREAM = "/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages"


def _absent_streams(v: ServerVersion) -> frozenset[str]:
    """gRPC reflection v1 comes with grpc-go 1.57 (server 1.22.0; 1.21 has only v1alpha); AdminService's
    replication stream with 1.21.0 (both seen live)."""
    absent = {REFLECTION_V1} if v < (1, 22, 0) else set()
    if v < (1, 21, 0):
        absent.add(REPLICATION_STREAM)
    return frozenset(absent)


@dataclass(frozen=True)
class AuthConfig:
    """The `global.authorization` keys the model depends on (blank means the server default)."""

    permissions_claim_name: str = "permissions"
    permissions_regex: str = ""
    audience: str = ""
    auth_header_name: str = "authorization"
    disable_streaming_authorizer: bool = False  # dynamic config system.disableStreamingAuthorizer
    authorizer: str = "default"  # global.authorization.authorizer: "" is the noop authorizer (allows all)
    claim_mapper: str = "default"  # global.authorization.claimMapper: "" maps everyone to system admin
    remote_cluster_auth_required: bool = False  # global.authorization.remoteClusterAuth.require (1.32+)
    # frontend.enablePrincipalPropagation (a namespace setting): (namespace or None for every namespace,
    # value) as the dynamic config file gives them.
    principal_propagation: tuple[tuple[str | None, bool], ...] = ()
    require_client_auth: bool = False  # global.tls.frontend.server.requireClientAuth

    def refusal_to_start(self, rules: ServerRules) -> str:
        """Why the server refuses this config at start ("" when it starts): cmd/server/main.go and
        temporal/fx.go stop on an unknown authorizer or claim mapper name, and on remoteClusterAuth
        required without a token provider (the stock binary has none)."""
        if self.authorizer.lower() not in ("", "default"):
            return f"Unable to instantiate authorizer: unknown authorizer: {self.authorizer}"
        if self.claim_mapper.lower() not in ("", "default"):
            return f"Unable to instantiate claim mapper: unknown claim mapper: {self.claim_mapper}"
        if self.remote_cluster_auth_required and rules.remote_cluster_auth:
            return "global.authorization.remoteClusterAuth.require is true but no TokenProvider is configured"
        return ""

    def effective_header_name(self, rules: ServerRules) -> str:
        if not rules.header_name_configurable or not self.auth_header_name:
            return "authorization"
        return self.auth_header_name
