"""Drive a status's two threads (the task's and the worker's flusher) through chosen interleavings.

Every point where either thread reads or writes a status (``ProgressBuffer.take``/``take_start``,
each UPDATE) calls ``Points.reached``. A test pauses one thread at its n-th point, runs the other
thread until it finishes or waits for the status's lock (``SpyLock`` sees that: no sleeps), and
lets the first go on. Trying every n covers every point of the paused thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connections

from user_tasks_graphql.core import writes
from user_tasks_graphql.core.progress import ProgressBuffer

TIMEOUT = 20.0


class SpyLock:
    """A re-entrant lock that tells which threads are waiting for it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition()
        self.waiting: set[int] = set()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        with self._changed:
            self.waiting.add(threading.get_ident())
            self._changed.notify_all()
        try:
            return self._lock.acquire(True, timeout)
        finally:
            with self._changed:
                self.waiting.discard(threading.get_ident())

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> SpyLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def wait_until_done_or_waiting(self, thread: threading.Thread) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: not thread.is_alive() or thread.ident in self.waiting, TIMEOUT):
                pytest.fail("the other thread neither finished nor waited for the status's lock")


class Points:
    """Counts the points each thread reaches and pauses one thread at a chosen one."""

    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = {}
        self._role = threading.local()
        self._pause_at: tuple[str, int] | None = None
        self._on_pause: Callable[[], None] = lambda: None
        self.paused_at = ""

    @contextmanager
    def role(self, name: str) -> Iterator[None]:
        self._role.name = name
        try:
            yield
        finally:
            self._role.name = None

    def pause(self, role: str, index: int, then: Callable[[], None]) -> None:
        """At ``role``'s ``index``-th point, run ``then`` before going on."""
        self._pause_at, self._on_pause = (role, index), then

    def reached(self, point: str) -> None:
        role = getattr(self._role, "name", None)
        if role is None:
            return
        seen = self.seen.setdefault(role, [])
        seen.append(point)
        if self._pause_at == (role, len(seen) - 1):
            self._pause_at = None
            self.paused_at = f"{role} at {point} (#{len(seen) - 1})"
            self._on_pause()


def instrument(monkeypatch: Any, points: Points) -> None:
    """Report every read-modify-write point of a status to ``points``."""

    def after(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            points.reached(name)
            return result

        return wrapped

    def before(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            points.reached(name)
            return original(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(ProgressBuffer, "take", after("take", ProgressBuffer.take))
    monkeypatch.setattr(ProgressBuffer, "take_start", after("take_start", ProgressBuffer.take_start))
    for name in ("update", "start", "finish", "add_steps", "rename", "show_text"):
        monkeypatch.setattr(writes, name, before(name, getattr(writes, name)))


def spy_on(status: Any) -> SpyLock:
    """Give ``status`` a lock the test can watch."""
    lock = SpyLock()
    status.progress_buffer().lock = lock
    return lock


def in_thread(role: str, points: Points, action: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        with points.role(role):
            try:
                action()
            except BaseException as exc:  # reported by the test
                errors.append(exc)
            finally:
                connections.close_all()

    thread = threading.Thread(target=run, name=role, daemon=True)
    thread.start()
    return thread
