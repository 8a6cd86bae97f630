"""One thread for a stage's pure logic, each call bounded in time.

The logic is CPU-bound and not thread-safe, so it runs one document at a time on a thread of its
own, leaving the event loop free for reads, acknowledgements, heartbeats and shutdown. A call that
outlives its bound is interrupted: an exception is raised inside the thread (CPython's
PyThreadState_SetAsyncExc), which pure-Python code meets at its next instruction. Code stuck in a C
extension never meets it; the thread is then lost, and only ending the process frees it.
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class TooSlow(Exception):
    """Raised inside the logic's thread: the document took longer than its bound."""


class LogicStuck(RuntimeError):
    """The logic did not stop when told to: its thread is lost until the process ends."""


_Job = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]", asyncio.AbstractEventLoop, int]


class LogicThread:
    """Runs calls one at a time on a daemon thread; each raises TooSlow past `limit_s`."""

    def __init__(self, *, limit_s: float, grace_s: float = 10.0, name: str = "logic") -> None:
        self.limit_s = limit_s
        self._grace_s = grace_s
        self._name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards _current: the interruption must land inside its own call
        self._current: int | None = None
        self._tokens = itertools.count()
        self.stuck = False

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on the logic's thread; TooSlow past the bound, LogicStuck if it will not stop."""
        if self.stuck:
            raise LogicStuck(f"the {self._name} thread is still stuck on an earlier document")
        if self._thread is None:
            # A daemon: a stuck call must not keep the process from ending.
            self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
            self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        token = next(self._tokens)
        self._jobs.put((function, args, future, loop, token))
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.limit_s)
        except TimeoutError:
            self._interrupt(token)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._grace_s)
        except TimeoutError:
            self.stuck = True
            raise LogicStuck(
                f"the {self._name} logic did not stop {self._grace_s:g}s after its bound of {self.limit_s:g}s"
            ) from None

    def _interrupt(self, token: int) -> None:
        with self._lock:
            if self._current == token and self._thread is not None and self._thread.ident is not None:
                _raise_in(self._thread.ident, TooSlow)

    def _serve(self) -> None:
        while True:
            function, args, future, loop, token = self._jobs.get()
            try:
                result = self._call(function, args, token)
            except BaseException as exc:  # handed to the caller, whatever it is
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)

    def _call(self, function: Callable[..., Any], args: tuple[Any, ...], token: int) -> Any:
        with self._lock:
            self._current = token
        try:
            return function(*args)
        finally:
            with self._lock:
                self._current = None
                # An interruption sent as the call returned would fire in the next one: cancel it.
                _raise_in(threading.get_ident(), None)


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller gave up waiting (the stage is stopping)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
