"""Wait for a frontend to answer: the gRPC health check needs no token, so it works under JWT auth."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

from temporalio.bridge.proto.health.v1 import HealthCheckRequest, HealthCheckResponse
from temporalio.service import ConnectConfig, ServiceClient, TLSConfig

WORKFLOW_SERVICE_HEALTH = "temporal.api.workflowservice.v1.WorkflowService"


async def wait_until_serving(
    address: str,
    *,
    deadline: float,
    alive: Callable[[], bool] = lambda: True,
    tls: bool | TLSConfig = False,
) -> float:
    """Poll the health check until the frontend says SERVING; returns the seconds waited.

    Raises TimeoutError at the deadline and RuntimeError as soon as `alive()` says the server died.
    """
    started = time.monotonic()
    last: object = None
    while time.monotonic() - started < deadline:
        if not alive():
            raise RuntimeError("the server exited while starting")
        try:
            client = await ServiceClient.connect(ConnectConfig(target_host=address, lazy=True, tls=tls))
            response = await client.health_service.check(
                HealthCheckRequest(service=WORKFLOW_SERVICE_HEALTH), retry=False, timeout=timedelta(seconds=1)
            )
            if response.status == HealthCheckResponse.SERVING:
                return time.monotonic() - started
            last = HealthCheckResponse.ServingStatus.Name(response.status)
        except Exception as exc:  # not up yet: connection refused, unavailable, ...
            last = exc
        await asyncio.sleep(0.1)  # poll interval
    raise TimeoutError(f"frontend {address} not serving after {deadline:.0f}s (last: {last})")
