"""The servers the fuzz classes drive, all on the fuzzer's own event loop: the pooled default server
(copied onto the loop), one server per config value a class fuzzes (permissionsRegex, audience,
authHeaderName, frontend.httpAllowedHosts: started on first use, then reused), and servers of their own
whose key source the fuzzer serves."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass, field

from harness.fuzz.jwks_text import KeySlots, anchor_document
from harness.jwks.fixture import Fault, JwksServer
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import Target

REFRESH = "50ms"  # the own-key-source servers' refreshInterval: a refresh is never far away
SETTLE_DEADLINE = 20.0


def on_loop(target: Target) -> Target:
    """The same server, with clients made afresh on the calling loop (they belong to the loop that made
    them)."""
    return dataclasses.replace(target, _service_client=None)


@dataclass
class OwnKeySource:
    """A server of its own whose only key source is a fixture the fuzzer serves, byte for byte."""

    jwks: JwksServer
    slots: KeySlots
    target: Target

    async def serve(self, body: bytes, status: int = 200, name: str = "fuzz") -> None:
        self.jwks.set_fault(Fault(status=status, body=body, name=name))

    async def settle(self) -> None:
        """Until what was served so far is applied (two refresh rounds asked for after now)."""
        await self.target.keys.settle(SETTLE_DEADLINE)

    async def reset(self) -> None:
        """Back to the anchor key alone, applied."""
        await self.serve(anchor_document(self.slots), name="anchor")
        await self.settle()


@dataclass
class FuzzServers:
    pool: ServerPool
    default_target: Target
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    _default: Target | None = None
    _regex: dict[str, Target] = field(default_factory=dict)
    _own: dict[str, OwnKeySource] = field(default_factory=dict)

    @property
    def default(self) -> Target:
        if self._default is None:
            self._default = on_loop(self.default_target)
        return self._default

    async def regex_server(self, pattern: str) -> Target:
        """A server whose permissionsRegex is `pattern`. Not guarded: the harness's admin token may mean
        nothing under a fuzzed pattern, and probes need no registered namespace (the authorizer runs
        before the namespace is looked up)."""
        return await self.config_server(
            f"regex:{pattern}",
            ServerSettings(authorization={"permissionsRegex": pattern}, system_workers=False),
        )

    async def config_server(self, key: str, settings: ServerSettings) -> Target:
        """A server of this config (one per `key`, started on first use, then reused), not guarded: a
        fuzzed value may mean the harness's own admin token means nothing there."""
        if key not in self._regex:
            assert self.pool.jwks is not None
            self._regex[key] = await self._stack.enter_async_context(
                self.pool.dedicated(settings, self.pool.jwks, guarded=False)
            )
        return self._regex[key]

    async def own_key_source(self, name: str) -> OwnKeySource:
        """A server of its own (one per name: each class keeps its own), serving the anchor key first."""
        if name not in self._own:
            jwks = self._stack.enter_context(JwksServer())
            slots = KeySlots.generate()
            jwks.set_fault(Fault(body=anchor_document(slots), name="anchor"))
            settings = ServerSettings(refresh_interval=REFRESH, system_workers=False)
            target = await self._stack.enter_async_context(self.pool.dedicated(settings, jwks, guarded=False))
            self._own[name] = OwnKeySource(jwks, slots, target)
        return self._own[name]

    async def close(self) -> None:
        # Stopped side by side first (each takes a second or two to shut down), then released in order.
        running = [t.running for t in self._regex.values()] + [o.target.running for o in self._own.values()]
        await asyncio.gather(*(asyncio.to_thread(r.stop) for r in running))
        await self._stack.aclose()
        self._regex.clear()
        self._own.clear()
