"""Nexus callback tokens as the server reads them (common/nexus/callback_token.go): JSON {"v": 1,
"d": base64url(NexusOperationCompletion)}, neither signed nor encrypted. The completion message is the
server's internal proto (temporal.server.api.token.v1), which no SDK ships: its fields are declared here
from the server's .proto, and protobuf encodes them."""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

CALLBACK_TOKEN_HEADER = "Temporal-Callback-Token"
TOKEN_VERSION = 1
_FIELD = descriptor_pb2.FieldDescriptorProto


@cache
def _completion_class() -> Any:
    """NexusOperationCompletion (token/v1/message.proto) with an empty StateMachineRef for `ref`: the
    HSM form, whose four fields (namespace_id, workflow_id, run_id, ref) must all be present."""
    file = descriptor_pb2.FileDescriptorProto(
        name="authz_harness/nexus_completion.proto", package="authz_harness", syntax="proto3"
    )
    file.message_type.add(name="StateMachineRef")
    completion = file.message_type.add(name="NexusOperationCompletion")
    for number, name in ((1, "namespace_id"), (2, "workflow_id"), (3, "run_id"), (5, "request_id")):
        completion.field.add(name=name, number=number, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL)
    completion.field.add(
        name="ref", number=4, type=_FIELD.TYPE_MESSAGE, label=_FIELD.LABEL_OPTIONAL,
        type_name=".authz_harness.StateMachineRef",
    )  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("authz_harness.NexusOperationCompletion")
    )


def callback_token(namespace_id: str, workflow_id: str, run_id: str) -> str:
    """A callback token naming a workflow's Nexus operation: what the server hands a handler, and what
    anyone can write, since nothing in it is secret or signed."""
    completion = _completion_class()(namespace_id=namespace_id, workflow_id=workflow_id, run_id=run_id)
    completion.ref.SetInParent()
    data = base64.urlsafe_b64encode(completion.SerializeToString()).decode()
    return json.dumps({"v": TOKEN_VERSION, "d": data}, separators=(",", ":"))
