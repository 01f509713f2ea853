"""`explain --target`: one harmless probe per API group with the token, against what the model expects.

Each probe is the group's `probe` method with the harness's minimal request, which fails validation
after authorization where it would act: the answer says only whether the authorizer let it through.

The target is a cluster the harness does not own: a group whose probe is on harness/safety.py's list
(delete, terminate, reset, cancel, batch, namespace-admin in a namespace the harness did not create) is
not probed ("not probed: irreversible"), and the model's answer is shown alone. The connection goes
through the transport guard (harness.guard), which refuses such a call again and audits every request."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.service import ConnectConfig

from harness.errors import HarnessConfigError
from harness.explain.derive import EXEMPT, ask
from harness.explain.keys import KeyAssumption
from harness.explain.token import DecodedToken
from harness.guard import Gate, GuardedServiceClient, register
from harness.model.decide import Expectation
from harness.probes.grpc import ApiMethod, Prober, minimal_request, sdk_methods
from harness.profiles.groups import GROUPS, ApiCall, Group
from harness.profiles.oracle import ModelContext
from harness.safety import NOT_PROBED, Ownership, aim_of
from harness.server.external import ExternalTarget
from harness.tokens.presentation import DEFAULT
from harness.types import CallTarget, Outcome


@dataclass(frozen=True)
class LiveProbe:
    group: str
    method: str
    namespace: str
    model: Expectation
    server: Outcome | None  # None: not probed (irreversible on a cluster the harness does not own)
    answer: str  # the server's answer, or why it was not asked

    @property
    def probed(self) -> bool:
        return self.server is not None

    @property
    def agrees(self) -> bool:
        return self.server is None or self.model.outcome is self.server


def representative(group: Group, ctx: ModelContext) -> ApiCall | None:
    return group.representative(group.calls(ctx.table))


async def probe_live(
    where: ExternalTarget,
    decoded: DecodedToken,
    keys: KeyAssumption,
    ctx: ModelContext,
    namespace: str,
    now: int,
) -> list[LiveProbe]:
    where.transport_check()  # the command printed its warning; here only the refusal counts
    gate = Gate(where.address, Ownership.foreign())  # the harness created nothing there
    register(gate)
    try:
        config = ConnectConfig(target_host=where.address, tls=where.tls_config())
        client = await GuardedServiceClient.open(config, gate)
    except Exception as exc:
        raise HarnessConfigError(f"cannot reach --target {where.address}: {exc}") from exc
    prober = Prober(client)
    headers = DEFAULT.metadata(decoded.raw, ctx.config.effective_header_name(ctx.rules).lower())
    methods = {(m.service, m.name): m for m in sdk_methods()}
    chosen: list[tuple[str, ApiMethod, str]] = [("(exempt)", methods[(EXEMPT.service, EXEMPT.method)], "")]
    for group in GROUPS:
        call = representative(group, ctx) if group.name != "all" else None
        if call is not None and (call.service, call.name) in methods:
            chosen.append((group.name, methods[(call.service, call.name)], "" if call.cluster else namespace))
    probes = []
    for group_name, method, ns in chosen:
        model = ask(decoded, keys, ctx, CallTarget(method.full_method, ns), now)
        why = gate.ownership.refusal(method.full_method, aim_of(minimal_request(method, ns)))
        if why:
            probes.append(LiveProbe(group_name, method.name, ns, model, None, f"{NOT_PROBED} ({why})"))
            continue
        observed = await prober.probe(method, ns, headers)
        probes.append(LiveProbe(group_name, method.name, ns, model, observed.outcome, observed.answer()))
    return probes
