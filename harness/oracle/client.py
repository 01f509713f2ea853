"""The oracle program as a long-lived child process: one JSON request per line in, one answer per line
out, in the order asked (fixtures/oracle/main.go); a question can be sent before the previous answer is
read, so the program works while the caller does (questions are written a few at a time, and all of those
not written yet before an answer is awaited). Many questions per process start; a process that dies or does
not answer in time is killed and the question fails with OracleError (the next one starts a new one)."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.settings import child_environment

ANSWER_TIMEOUT_S = 30.0
# Questions written to the program together (or sooner, when an answer is awaited): one write and select
# per question was a tenth of the fast phase's time; a few at a time still keep the program busy while
# the caller works.
WRITE_EVERY = 8


class OracleError(RuntimeError):
    """The oracle program failed to answer (it died, hung, panicked or did not understand the question)."""


class OracleProcess:
    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._early: dict[int, dict[str, Any]] = {}  # answers read while waiting for an earlier question
        self._next_id = 0
        self._unsent: list[bytes] = []  # questions asked, not written yet (written WRITE_EVERY at a time)
        self.questions = 0  # asked so far (figures)

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._buffer = b""
            self._early.clear()
            self._unsent = []
            self._proc = subprocess.Popen(
                [str(self.binary)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=child_environment(GODEBUG="", GOTRACEBACK="single"),
            )
            assert self._proc.stdin is not None
            os.set_blocking(self._proc.stdin.fileno(), False)  # _write never blocks: it reads meanwhile
        return self._proc

    def ask(self, op: str, timeout: float = ANSWER_TIMEOUT_S, **fields: Any) -> dict[str, Any]:
        """One question; the answer's fields. OracleError on a panic, an error or no answer in time."""
        return self.send(op, **fields)(timeout)

    def send(self, op: str, *, encoded: str = "", **fields: Any) -> Callable[[float], dict[str, Any]]:
        """Ask without waiting (the program works while the caller does): returns the function that waits
        for this answer. Answers may be waited for in any order. `encoded`: more members, as JSON text
        already (a question's parts that are the same every time are encoded once by the caller)."""
        proc = self._start()
        self._next_id += 1
        wanted = self._next_id
        question = json.dumps({"id": wanted, "op": op, **fields}, ensure_ascii=False)
        if encoded:
            question = f"{question[:-1]}, {encoded}}}"
        self._unsent.append(question.encode() + b"\n")
        if len(self._unsent) >= WRITE_EVERY:
            self._flush(proc, op)

        def answer(timeout: float = ANSWER_TIMEOUT_S) -> dict[str, Any]:
            return self._receive(proc, op, wanted, timeout)

        return answer

    def _flush(self, proc: subprocess.Popen[bytes], op: str) -> None:
        """Write the questions not written yet, in one write."""
        data, self._unsent = b"".join(self._unsent), []
        if not data or proc is not self._proc:
            return
        try:
            self._write(proc, data)
        except (OSError, OracleError) as exc:
            self.close()
            raise OracleError(f"the oracle program took no question {op}: {exc}") from exc

    def _receive(self, proc: subprocess.Popen[bytes], op: str, wanted: int, timeout: float) -> dict[str, Any]:
        if proc is not self._proc:
            raise OracleError(f"the oracle program asked {op} was restarted before it answered")
        self._flush(proc, op)
        try:
            while wanted not in self._early:
                answer = json.loads(self._line(proc, timeout))
                self._early[int(answer.get("id", -1))] = answer
        except (OSError, ValueError, OracleError) as exc:
            self.close()
            raise OracleError(f"the oracle program gave no answer to {op}: {exc}") from exc
        answer = self._early.pop(wanted)
        self.questions += 1
        if "panic" in answer or "error" in answer:
            raise OracleError(
                f"the oracle program refused {op}: {answer.get('panic') or answer.get('error')}"
            )
        return dict(answer)

    def _write(self, proc: subprocess.Popen[bytes], data: bytes) -> None:
        """Write a question, reading answers meanwhile: with many questions in flight the program may
        be waiting for its answers to be read before it reads more questions."""
        assert proc.stdin is not None and proc.stdout is not None
        out, into = proc.stdout.fileno(), proc.stdin.fileno()
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise OracleError(f"the program took no question within {ANSWER_TIMEOUT_S:.0f}s")
            readable, writable, _ = select.select([out], [into], [], left)
            if readable:
                self._fill(proc, out)
            if writable:
                with contextlib.suppress(BlockingIOError):
                    data = data[os.write(into, data[: 1 << 16]) :]

    def _fill(self, proc: subprocess.Popen[bytes], fd: int) -> None:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise OracleError(f"the program exited (status {proc.wait()})")
        self._buffer += chunk

    def _line(self, proc: subprocess.Popen[bytes], timeout: float) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise OracleError(f"no answer within {timeout:.0f}s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                self._fill(proc, fd)
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> OracleProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
