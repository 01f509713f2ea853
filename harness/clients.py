"""temporalio Clients that carry a token, and ways to change the token of a live client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

from temporalio.client import Client
from temporalio.service import TLSConfig

from harness.guard import GuardPlugin, gate_at
from harness.tokens.presentation import DEFAULT, Presentation
from harness.wait import cancel_and_wait

TokenSource = Callable[[], str]  # returns a fresh raw token (no scheme)
Via = Literal["rpc_metadata", "api_key"]


@dataclass(frozen=True)
class Carrier:
    """How a live client carries its token: as rpc_metadata under a presentation, or the SDK's api_key
    (which the SDK itself sends as an authorization header)."""

    header: str = "authorization"  # the header the server reads
    presentation: Presentation = DEFAULT
    via: Via = "rpc_metadata"

    def metadata(self, token: str) -> dict[str, str]:
        return dict(self.presentation.metadata(token, self.header))


async def connect(
    address: str,
    namespace: str = "default",
    token: str | None = None,
    *,
    carrier: Carrier = Carrier(),
    tls: bool | TLSConfig = False,
) -> Client:
    """Connect with a token. Plaintext by default: api_key would otherwise switch TLS on. A cluster the
    harness does not own is reached through its gate (harness.guard)."""
    gate = gate_at(address)
    plugins = [GuardPlugin(gate)] if gate is not None else []
    if token is None:
        return await Client.connect(address, namespace=namespace, tls=tls, plugins=plugins)
    if carrier.via == "api_key":
        return await Client.connect(address, namespace=namespace, api_key=token, tls=tls, plugins=plugins)
    return await Client.connect(
        address, namespace=namespace, rpc_metadata=carrier.metadata(token), tls=tls, plugins=plugins
    )


def set_token(client: Client, token: str, carrier: Carrier = Carrier()) -> None:
    """Swap the token of a live client (and of workers built on it) without reconnecting."""
    if carrier.via == "api_key":
        client.api_key = token
    else:
        client.rpc_metadata = carrier.metadata(token)


@dataclass
class TokenRefresher:
    """Replaces a live client's token every `period` seconds: how a service keeps working across expiry."""

    client: Client
    source: TokenSource
    period: float
    carrier: Carrier = Carrier()
    refreshes: int = 0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)  # the refresh cadence itself, not synchronisation
            set_token(self.client, self.source(), self.carrier)
            self.refreshes += 1

    def start(self) -> None:
        set_token(self.client, self.source(), self.carrier)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)


@contextlib.asynccontextmanager
async def refreshing(
    client: Client, source: TokenSource, period: float, carrier: Carrier = Carrier()
) -> AsyncIterator[TokenRefresher]:
    refresher = TokenRefresher(client, source, period, carrier)
    refresher.start()
    try:
        yield refresher
    finally:
        await refresher.stop()
