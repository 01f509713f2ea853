"""The two kinds of failure a verdict tells apart.

`ServerDidNotComply` is the server's: a wait for server behaviour that passed its deadline, an answer a
requirement rules out. It is an AssertionError, so every path that raises it ends as FAIL.
`HarnessError` is ours: a fixture that could not start, an observation the harness could not make. It
ends as HARNESS_ERROR and is never counted against the server. `HarnessConfigError` is bad input to the
harness: one clear message naming the fix.
"""

from __future__ import annotations


class ServerDidNotComply(AssertionError):
    """The server did not do what a requirement says, shown by waiting or by an answer."""


class HarnessError(RuntimeError):
    """The harness itself broke; the message names the cause."""


class HarnessConfigError(HarnessError):
    """Bad input to the harness; the message names the fix."""
