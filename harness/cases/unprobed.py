"""Calls the harness must not send to a target (harness.safety): which, why, and the model's answer alone.

Every caller that probes a target asks `not_probed()` first and, where it answers, leaves the call out and
reports "not probed: irreversible" with `model_only()`'s answer instead of the server's."""

from __future__ import annotations

import time

from google.protobuf.message import Message

from harness.cases.ask import Answer, CallQuestion, Window
from harness.cases.runner import facts_of
from harness.probes.grpc import ApiMethod, minimal_request
from harness.safety import NOT_PROBED, aim_of
from harness.server.target import Target
from harness.tokens.mint import MintedToken
from harness.types import CallTarget


def not_probed(target: Target, method: str, request: Message | None) -> str:
    """Where `method` with `request` must not be sent to `target`: "not probed: irreversible (why)"; else ""."""
    why = target.ownership.refusal(method, aim_of(request))
    return f"{NOT_PROBED} ({why})" if why else ""


def not_probed_minimal(target: Target, method: ApiMethod, namespace: str) -> str:
    """The same for the harness's minimal request of `method` in `namespace` (what the probes send)."""
    return not_probed(target, method.full_method, minimal_request(method, namespace))


def model_only(target: Target, token: MintedToken | None, call: CallTarget) -> Answer:
    """The model's answer for a call that is not sent: asked for this moment, with the keys it has now."""
    now = time.monotonic()
    return CallQuestion(facts_of(target), target.credential(token), call, Window.between(now, now)).answer()


def said(answer: Answer) -> str:
    """The model's answer as a report shows it: "ALLOWED (reason)"."""
    value = answer.value.value if answer.determinate else "/".join(sorted(v.value for v in answer.values))
    return f"{value} ({answer.reason})"
