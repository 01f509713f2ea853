"""temporalio Clients that carry a token, and ways to change the token of a live client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

from temporalio.client import Client
from temporalio.service import TLSConfig

from harness.wait import cancel_and_wait

TokenSource = Callable[[], str]  # returns a fresh raw token (no "Bearer ")


async def connect(
    address: str,
    namespace: str = "default",
    token: str | None = None,
    *,
    tls: bool | TLSConfig = False,
    via: Literal["rpc_metadata", "api_key"] = "rpc_metadata",
) -> Client:
    """Connect with a bearer token. Plaintext by default: api_key would otherwise switch TLS on."""
    if token is None:
        return await Client.connect(address, namespace=namespace, tls=tls)
    if via == "api_key":
        return await Client.connect(address, namespace=namespace, api_key=token, tls=tls)
    return await Client.connect(
        address, namespace=namespace, rpc_metadata={"authorization": f"Bearer {token}"}, tls=tls
    )


def set_token(client: Client, token: str, via: Literal["rpc_metadata", "api_key"] = "rpc_metadata") -> None:
    """Swap the token of a live client (and of workers built on it) without reconnecting."""
    if via == "api_key":
        client.api_key = token
    else:
        client.rpc_metadata = {"authorization": f"Bearer {token}"}


@dataclass
class TokenRefresher:
    """Replaces a live client's token every `period` seconds: how a service keeps working across expiry."""

    client: Client
    source: TokenSource
    period: float
    via: Literal["rpc_metadata", "api_key"] = "rpc_metadata"
    refreshes: int = 0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)  # the refresh cadence itself, not synchronisation
            set_token(self.client, self.source(), self.via)
            self.refreshes += 1

    def start(self) -> None:
        set_token(self.client, self.source(), self.via)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)


@contextlib.asynccontextmanager
async def refreshing(
    client: Client,
    source: TokenSource,
    period: float,
    via: Literal["rpc_metadata", "api_key"] = "rpc_metadata",
) -> AsyncIterator[TokenRefresher]:
    refresher = TokenRefresher(client, source, period, via)
    refresher.start()
    try:
        yield refresher
    finally:
        await refresher.stop()
