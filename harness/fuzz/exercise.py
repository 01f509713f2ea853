"""An example against a server: its tokens and calls, what the server did and what the model says.

One function per class turns the input into the token(s) to send and the server to send them to; the
calls are the sample's (harness.fuzz.calls). Everything is asked through observe(), like every suite:
the model sees the token, the config, the version and the key rings the fixtures served, never the
server's answer.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from jwt.warnings import InsecureKeyLengthWarning

from harness.cases.calls import Call
from harness.cases.runner import observe
from harness.errors import HarnessError
from harness.fuzz import calls as sample
from harness.fuzz.examples import Example
from harness.fuzz.exercised import Exercised
from harness.fuzz.http_exercise import exercise_http_headers
from harness.fuzz.idp_keys import idp_slots
from harness.fuzz.idp_text import idp_document, idp_signer
from harness.fuzz.jwks_text import document_bytes
from harness.fuzz.key_uri_servers import key_uris_server, spelled
from harness.fuzz.servers import FuzzServers
from harness.fuzz.sizes_text import expanded
from harness.fuzz.strategies.claims import render_payload
from harness.fuzz.token_text import build
from harness.probes.http import routes
from harness.server.config import ServerSettings
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens.keys import SigningKey, ec_key, rsa_key
from harness.tokens.mint import RESTRICTED_LIFETIME_S, MintedToken, TokenSpec, mint
from harness.tokens.presentation import DEFAULT, under

GRANT = [f"{SUITE_NAMESPACE}:write"]  # what the key-source classes' tokens ask for
# Classes whose tokens' exp the harness cannot bound (the token's bytes are the input: no exp, a far one,
# one no parser reads): skipped on a cluster the harness does not own, whose keys sign only short tokens.
UNBOUNDED_CLASSES = frozenset({"token-bytes", "sizes"})
# On a cluster the harness does not own, a claims example's exp when the drawn one is absent, far or not a
# number: inside mint.RESTRICTED_LIFETIME_S, a minute from its edge.
BOUNDED_EXP_S = RESTRICTED_LIFETIME_S - 60


_UNTRUSTED: dict[tuple[str, str], SigningKey] = {}


def untrusted(kid: str, kty: str) -> SigningKey:
    """A key the server never trusts, with a trusted key's kid (generated once per kid and type)."""
    if (kid, kty) not in _UNTRUSTED:
        _UNTRUSTED[(kid, kty)] = ec_key(kid=kid) if kty == "EC" else rsa_key(kid=kid)
    return _UNTRUSTED[(kid, kty)]


def bounded_exp(payload: dict[str, Any], now: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload with an exp a restricted key may sign (harness.tokens.mint.admit), and what was drawn
    instead (for the report): a numeric, non-zero exp at most BOUNDED_EXP_S ahead is kept as it is."""
    exp = payload.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool) and exp != 0 and exp - now <= BOUNDED_EXP_S:
        return payload, {}
    drawn = repr(exp) if "exp" in payload else "absent"
    return {**payload, "exp": int(now) + BOUNDED_EXP_S}, {"exp_drawn": drawn}


async def _claims(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    target = servers.default
    now = time.time()
    payload = render_payload(dict(example.input), now)
    context: dict[str, Any] = {}
    if not target.owned:  # the exp dimension is fuzzed on servers the harness started only
        payload, context = bounded_exp(payload, now)
    spec = TokenSpec(permissions=None, exp_in=None, iat_in=None, omit_sub=True, extra=payload)
    return target, {"token": mint(spec, target.signing_key)}, context


async def _names(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    target = servers.default
    return target, {"token": target.mint(list(example.input["permissions"]), sub="fuzz")}, {}


async def _token_bytes(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    target = servers.default
    rsa, ec = target.key_of("RSA"), target.key_of("EC")
    keys = {
        "rsa": rsa,
        "ec": ec,
        "untrusted": untrusted(rsa.kid, "RSA"),
        "untrusted-ec": untrusted(ec.kid, "EC"),
    }
    token = build(example.input, keys)
    return target, {"token": token}, {"token_text_length": len(token.token)}


async def _regex(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    target = await servers.regex_server(str(example.input["regex"]))
    token = target.mint(list(example.input["permissions"]), sub="fuzz")
    return target, {"token": token}, {"permissionsRegex": example.input["regex"]}


async def _jwks(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    own = await servers.own_key_source("jwks")
    await own.reset()
    body = document_bytes(example.input, own.slots)
    await own.serve(body, int(example.input.get("status", 200)))
    await own.settle()
    key = own.slots.signing[str(example.input.get("sign_with", "rsa0"))]
    tokens = {
        "token": own.target.mint(GRANT, key=key, sub="fuzz"),
        "anchor": own.target.mint(GRANT, key=own.slots.signing["anchor"], sub="fuzz"),
    }
    return own.target, tokens, {"served": body.decode("utf-8", "replace")[:2000]}


async def _jwks_idp(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    own = await servers.own_key_source("jwks")
    await own.reset()
    body = idp_document(example.input, idp_slots())
    await own.serve(body, int(example.input.get("status", 200)))
    await own.settle()
    with warnings.catch_warnings():  # a 1024-bit slot signs on purpose
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        signed = own.target.mint(GRANT, key=idp_signer(str(example.input.get("sign_with"))), sub="fuzz")
    tokens = {
        "token": signed,
        "anchor": own.target.mint(GRANT, key=own.slots.signing["anchor"], sub="fuzz"),
    }
    return own.target, tokens, {"served": body.decode("utf-8", "replace")[:2000]}


CALLS_KEY = "_calls"  # a recipe's own calls, in its context (else the sample's, by label)


@dataclass(frozen=True)
class ConfigServer:
    """What a config class's value sets on its server: the example's input holding it, the pool key's
    prefix (the value, as `text` writes it, follows) and the server settings of a value."""

    input_key: str
    prefix: str
    settings: Callable[[Any], ServerSettings]
    value: Callable[[Any], Any] = str
    text: Callable[[Any], str] = str


CONFIG_SERVERS = {
    "allowed-hosts": ConfigServer(
        "patterns",
        "hosts:",
        lambda v: ServerSettings(dynamic_config={"frontend.httpAllowedHosts": v}, system_workers=False),
        value=lambda v: v,  # a list of patterns, a bare string or a number: given as drawn
        text=json.dumps,
    ),
    "audience": ConfigServer(
        "audience", "audience:", lambda v: ServerSettings(authorization={"audience": v}, system_workers=False)
    ),
    "header-name": ConfigServer(
        "header_name",
        "header:",
        lambda v: ServerSettings(authorization={"authHeaderName": v}, system_workers=False),
    ),
}


async def config_target(example: Example, servers: FuzzServers) -> tuple[Target, Any]:
    """The pooled server of the example's config value, and that value."""
    config = CONFIG_SERVERS[example.fuzz_class]
    value = config.value(example.input[config.input_key])
    return await servers.config_server(config.prefix + config.text(value), config.settings(value)), value


async def _allowed_hosts(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    """A system admin's ListNamespaces over HTTP with each Host, on a server of that
    frontend.httpAllowedHosts."""
    target, value = await config_target(example, servers)
    if target.running.http_address is None:
        raise HarnessError("the HTTP API address of this server is not known: no Host can be sent")
    route = HTTP_ROUTES["ListNamespaces"]
    calls = [Call(f"host{i}", route, host=str(h)) for i, h in enumerate(example.input["hosts"])]
    token = target.mint([f"{target.system_scope}:admin"], sub="fuzz")
    return target, {"token": token}, {CALLS_KEY: calls, "frontend.httpAllowedHosts": value}


async def _audience(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    target, audience = await config_target(example, servers)
    extra = {} if example.input["aud"] == "absent" else {"aud": example.input["aud"]}
    token = target.mint(list(example.input["permissions"]), sub="fuzz", extra=extra)
    return target, {"token": token}, {"audience": audience}


async def _header_name(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    target, name = await config_target(example, servers)
    return (
        target,
        {"token": target.mint(GRANT, sub="fuzz")},
        {"authHeaderName": name, PRESENTATION_KEY: under(str(example.input["sent_as"]))},
    )


async def _key_source_uris(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    """A server of these keySourceURIs: a token signed by the key set file's key, one by the fixture's."""
    uris = [str(u) for u in example.input["uris"]]
    target, file = await key_uris_server(servers, uris)
    tokens = {"file": target.mint(GRANT, key=file.key, sub="fuzz"), "http": target.mint(GRANT, sub="fuzz")}
    return target, tokens, {"keySourceURIs": spelled(servers, uris)}


PRESENTATION_KEY = "_presentation"  # how a recipe's token is carried (else the server's header name)
HTTP_ROUTES = {r.name: r for r in routes()}

Recipe = Callable[[Example, FuzzServers], Awaitable[tuple[Target, dict[str, MintedToken], dict[str, Any]]]]
RECIPES: dict[str, Recipe] = {
    "claims": _claims,
    "names": _names,
    "token-bytes": _token_bytes,
    "regex": _regex,
    "jwks": _jwks,
    "jwks-idp": _jwks_idp,
    "allowed-hosts": _allowed_hosts,
    "audience": _audience,
    "header-name": _header_name,
    "key-source-uris": _key_source_uris,
}


async def _sizes(
    example: Example, servers: FuzzServers
) -> tuple[Target, dict[str, MintedToken], dict[str, Any]]:
    """As the token-bytes or jwks class would send what the sizes input stands for."""
    inner = expanded(example)
    return await RECIPES[inner.fuzz_class](inner, servers)


RECIPES["sizes"] = _sizes


async def exercise(example: Example, servers: FuzzServers) -> Exercised:
    if example.fuzz_class == "http-headers":  # its own requests: header lines byte for byte, not a token
        return await exercise_http_headers(example, servers)
    recipe = RECIPES.get(example.fuzz_class)
    if recipe is None:
        raise ValueError(
            f"no recipe for fuzz class {example.fuzz_class!r} (the rotation machine replays its steps)"
        )
    target, tokens, context = await recipe(example, servers)
    calls = context.pop(CALLS_KEY, None) or sample.by_label(example.calls)
    presentation = context.pop(PRESENTATION_KEY, DEFAULT)
    if presentation is not DEFAULT:
        context["presentation"] = presentation.describe()
    done = Exercised(example, target, context=context)
    for name, token in tokens.items():
        done.runs[name] = await observe(target, calls, token, presentation)
    return done
