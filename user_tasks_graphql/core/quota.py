"""At most ``USER_TASKS_MAX_ACTIVE_PER_USER`` unfinished tasks per user.

The design in one sentence: a publishing call holds a lock per user (on PostgreSQL an advisory
lock, until the rows it creates are committed; elsewhere a lock of the process) while it counts
the users' unfinished tasks, refuses what would pass the limit, and publishes, so the next call for
those users counts the rows this one made. No transaction is held open over the publish: the rows
commit before the broker has the message, as without a limit, so a worker never runs a task whose
row it cannot see yet. Containers (chains, groups, chords) are not counted, their tasks are.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.db import connections, router
from django.db.models import Count

from .conf import max_active_per_user
from .exceptions import TaskLimitExceeded
from .models import UserTaskStatus
from .states import ACTIVE_STATES

_process_lock = threading.RLock()  # SQLite (the embedded mode): one process, its threads take turns


def _lock_key(user_id: Any) -> int:
    """A signed 64-bit advisory lock key of its own for each user."""
    digest = hashlib.blake2b(f"user_tasks_graphql.quota:{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _users_locked(alias: str, user_ids: list[Any]) -> Iterator[None]:
    """Held from the count until this call's rows are committed: in the caller's transaction, to
    its end (a transaction-level lock); else to the end of the block (a session-level lock)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with _process_lock:
            yield
        return
    in_transaction = connection.in_atomic_block
    keys = sorted(_lock_key(user_id) for user_id in user_ids)  # one order: no deadlock between two calls
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute(f"SELECT pg_advisory{'_xact' if in_transaction else ''}_lock(%s)", [key])
    try:
        yield
    finally:
        if not in_transaction:
            with connection.cursor() as cursor:
                for key in keys:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _active(alias: str, user_ids: list[Any]) -> dict[Any, int]:
    rows = (
        UserTaskStatus.objects.using(alias)
        .filter(user_id__in=user_ids, is_container=False, state__in=ACTIVE_STATES)
        .values("user_id")
        .annotate(active=Count("id"))
    )
    return {row["user_id"]: row["active"] for row in rows}


@contextmanager
def reserved(asked: Mapping[Any, int], hold: bool = True) -> Iterator[None]:
    """Room for ``asked[user_id]`` more unfinished tasks of each user while the block publishes
    them, or ``TaskLimitExceeded`` before anything is published.

    ``hold=False`` (a call that runs the task at once, in eager mode) only checks: its rows are
    created as it runs, and the lock would be held for the whole task.
    """
    limit = max_active_per_user()
    asked = {user_id: count for user_id, count in asked.items() if count > 0}
    if limit is None or not asked:
        yield
        return
    alias = router.db_for_write(UserTaskStatus)
    user_ids = sorted(asked, key=str)
    with _users_locked(alias, user_ids):
        active = _active(alias, user_ids)
        for user_id in user_ids:
            if active.get(user_id, 0) + asked[user_id] > limit:
                raise TaskLimitExceeded(user_id, limit, active.get(user_id, 0), asked[user_id])
        if hold:
            yield
    if not hold:
        yield
