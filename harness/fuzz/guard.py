"""The model never hangs or crashes: every question a fuzz class asks the model runs under this guard,
with a time bound. An exception or a run past the bound is a ModelDefect (an AssertionError, so
hypothesis shrinks it like a disagreement): a defect to fix in harness/model/.

On the main thread (where hypothesis runs the fast oracle's examples) the bound is an interval timer
(SIGALRM) that interrupts the model where it is; elsewhere the question runs in a worker thread of its
own, and a worker that runs past the bound is abandoned (a daemon thread: it cannot be stopped) and the
next question gets a new one.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

MODEL_BOUND_S = 5.0  # far beyond any answer the model gives (milliseconds); only a hang gets near it


class ModelDefect(AssertionError):
    """The model raised, or ran past its bound, on a fuzzed input."""


class _Expired(BaseException):
    """The interval timer went off (a BaseException: the model's own `except Exception` cannot catch it)."""


def _expired(signum: int, frame: object) -> None:
    raise _Expired


class _Worker:
    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[tuple[Callable[[], Any], queue.SimpleQueue[Any]]] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="model-guard", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            job, reply = self.jobs.get()
            try:
                reply.put((True, job()))
            except BaseException as exc:
                reply.put((False, exc))


class ModelGuard:
    def __init__(self, bound: float = MODEL_BOUND_S) -> None:
        self.bound = bound
        self.slowest = 0.0  # the longest a question took so far (seconds), for the run's figures
        self._worker: _Worker | None = None
        self._lock = threading.Lock()

    def __call__(self, what: str, question: Callable[[], T]) -> T:
        """`question()` answered within the bound, or ModelDefect naming `what` was asked."""
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            return self._on_main_thread(what, question)
        return self._in_worker(what, question)

    def _on_main_thread(self, what: str, question: Callable[[], T]) -> T:
        previous = signal.signal(signal.SIGALRM, _expired)
        asked = time.perf_counter()
        try:
            try:
                signal.setitimer(signal.ITIMER_REAL, self.bound)
                answer = question()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        except _Expired:
            raise ModelDefect(f"the model ran past its bound ({self.bound:.0f} s) on {what}") from None
        except Exception as exc:
            raise _raised(what, exc) from None  # the trace is in the message: one origin per defect
        self.slowest = max(self.slowest, time.perf_counter() - asked)
        return answer

    def _in_worker(self, what: str, question: Callable[[], T]) -> T:
        with self._lock:
            if self._worker is None:
                self._worker = _Worker()
            worker = self._worker
        reply: queue.SimpleQueue[Any] = queue.SimpleQueue()
        asked = time.perf_counter()
        worker.jobs.put((question, reply))
        try:
            ok, value = reply.get(timeout=self.bound)
            self.slowest = max(self.slowest, time.perf_counter() - asked)
        except queue.Empty:
            with self._lock:
                if self._worker is worker:
                    self._worker = None  # abandoned: it is still running the question
            raise ModelDefect(f"the model ran past its bound ({self.bound:.0f} s) on {what}") from None
        if not ok:
            raise _raised(what, value) from None
        return value  # type: ignore[no-any-return]


def _raised(what: str, exc: BaseException) -> ModelDefect:
    trace = "".join(traceback.format_exception(exc)[-6:])
    return ModelDefect(f"the model raised on {what}: {type(exc).__name__}: {exc}\n{trace}")


GUARD = ModelGuard()
