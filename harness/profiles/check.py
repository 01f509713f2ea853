"""Check a profile live: each principal's token minted from its claims, every call of its intent probed
through harness.cases.runner.observe() (which also asks the model), then compared (harness.profiles.result).

On a cluster the harness does not own, the calls of harness/safety.py's list that would touch the user's
namespaces (DeprecateNamespace, UpdateNamespace, terminate, delete, ...) are not sent: the model answers
alone and the report says "not probed: irreversible"."""

from __future__ import annotations

from harness.cases.calls import Call
from harness.cases.runner import observe
from harness.cases.unprobed import model_only, not_probed_minimal
from harness.errors import HarnessConfigError
from harness.probes.grpc import ApiMethod, sdk_methods
from harness.profiles.compare import PrincipalCheck, Probed
from harness.profiles.formats import PermissionFormat
from harness.profiles.intent import expand
from harness.profiles.oracle import ModelContext
from harness.profiles.profile import Principal, Profile
from harness.profiles.result import ProfileRun, finish, format_for
from harness.profiles.servers import Progress, RunChoice, describe_target, profile_target
from harness.server.target import Target


def _sdk_method(methods: dict[tuple[str, str], ApiMethod], service: str, name: str) -> ApiMethod:
    found = methods.get((service, name))
    if found is None:
        raise HarnessConfigError(f"the installed temporalio SDK has no {service}/{name}: upgrade temporalio")
    return found


async def check_principal(
    target: Target, profile: Profile, principal: Principal, ctx: ModelContext, fmt: PermissionFormat
) -> PrincipalCheck:
    # The harness's own JWKS has an RSA and an EC key; an external cluster trusts the one key given.
    kty = "EC" if principal.alg == "ES256" else "RSA"
    key = target.key_of(kty) if target.controls_jwks else target.signing_key
    token = target.mint(None, key=key, omit_sub=True, extra=dict(principal.claims))
    intended = expand(principal, profile.namespaces, ctx.table)
    methods = {(m.service, m.name): m for m in sdk_methods()}
    chosen = [(i, _sdk_method(methods, i.call.service, i.call.name)) for i in intended]
    calls = [Call(f"{i.call.name}@{i.namespace}", m, i.namespace) for i, m in chosen]
    # On a cluster the harness does not own: the destructive calls aimed at the user's namespaces.
    unsent = {
        c.label: why
        for (i, m), c in zip(chosen, calls, strict=True)
        if (why := not_probed_minimal(target, m, i.namespace))
    }
    run = await observe(target, [c for c in calls if c.label not in unsent], token)
    probed = []
    for i, c in zip(intended, calls, strict=True):
        if c.label in unsent:
            model = model_only(target, token, c.target)
            probed.append(Probed(i, model.value, model.value, model.reason, unsent[c.label], probed=False))
        else:
            answer = run.answers[c.label]
            observation = run.observed.observations[c.label]
            probed.append(Probed(i, observation.outcome, answer.value, answer.reason, observation.answer()))
    return finish(profile, principal, token.claims, probed, ctx, fmt)


async def run_profile(profile: Profile, choice: RunChoice, progress: Progress) -> ProfileRun:
    async with profile_target(profile, choice, progress) as target:
        ctx = ModelContext.of(target.version, target.table, target.auth_config)
        fmt = format_for(profile, ctx)
        run = ProfileRun(profile, describe_target(target, profile), fmt)
        for principal in profile.principals:
            progress(f"probe: {principal.name}")
            run.principals.append(await check_principal(target, profile, principal, ctx, fmt))
    return run
