"""`profile --dry-run`: no server; the model's answers stand in for the server's. Shows what the intent
would meet on a server that behaves as the model says (the live check is what proves it)."""

from __future__ import annotations

import time

from harness.api_tables import load_table
from harness.model.claims import KeyRing
from harness.model.decide import Credential, expect
from harness.profiles.compare import Probed
from harness.profiles.intent import expand
from harness.profiles.oracle import ModelContext
from harness.profiles.profile import Profile
from harness.profiles.result import ProfileRun, finish, format_for
from harness.settings import DEFAULT_VERSION
from harness.tokens.keys import ec_key
from harness.tokens.mint import TokenSpec, mint
from harness.tokens.presentation import DEFAULT


def dry_run(profile: Profile, version: str | None = None) -> ProfileRun:
    chosen = version or profile.version or DEFAULT_VERSION
    ctx = ModelContext.of(chosen, load_table(chosen), profile.auth_config())
    fmt = format_for(profile, ctx)
    key = ec_key(kid="dry-run")  # trusted by the model's key ring below, like the harness's JWKS key
    ring = KeyRing((key.published(),))
    header = ctx.config.effective_header_name(ctx.rules).lower()
    server = {
        "version": chosen,
        "backend": "none (--dry-run: the model's answers stand in for the server's)",
        "address": "-",
        "keys": "a key the model trusts",
        "authorization": dict(profile.authorization),
    }
    run = ProfileRun(profile, server, fmt)
    now = int(time.time())
    for principal in profile.principals:
        token = mint(TokenSpec(permissions=None, omit_sub=True, extra=dict(principal.claims)), key, now=now)
        credential = Credential(DEFAULT.metadata(token.token, header), token.signed_by)
        probed = []
        for intended in expand(principal, profile.namespaces, ctx.table):
            answer = expect(
                credential,
                intended.target,
                rules=ctx.rules,
                table=ctx.table,
                keyring=ring,
                config=ctx.config,
                now=now,
            )
            probed.append(Probed(intended, answer.outcome, answer.outcome, answer.reason, "(no server)"))
        run.principals.append(finish(profile, principal, token.claims, probed, ctx, fmt))
    return run
