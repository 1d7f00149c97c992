"""At most ``USER_TASKS_MAX_ACTIVE_PER_USER`` unfinished tasks per user.

The design in one sentence: a publishing call locks the rows of its users (in id order, so two
calls cannot deadlock), counts their unfinished tasks, refuses what would pass the limit, and
publishes inside that transaction, so the rows it creates are committed before the next call for
those users can count. Containers (chains, groups, chords) are not counted, their tasks are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.db import router, transaction
from django.db.models import Count

from .conf import max_active_per_user
from .exceptions import TaskLimitExceeded
from .models import UserTaskStatus
from .states import ACTIVE_STATES


def _locked_counts(alias: str, user_ids: list[Any]) -> dict[Any, int]:
    """Lock the users' rows (in id order, so two calls cannot deadlock), then count their
    unfinished tasks. Two statements: under PostgreSQL's read committed a count in the locking
    statement would be read from before the lock was granted, missing the rows of the call that
    held it."""
    users = get_user_model()._default_manager.db_manager(alias).filter(pk__in=user_ids).order_by("pk")
    list(users.select_for_update().values_list("pk", flat=True))
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
    created as it runs, which must not happen inside the lock's transaction.
    """
    limit = max_active_per_user()
    asked = {user_id: count for user_id, count in asked.items() if count > 0}
    if limit is None or not asked:
        yield
        return
    with _checked(limit, asked):
        if hold:
            yield
    if not hold:
        yield


@contextmanager
def _checked(limit: int, asked: Mapping[Any, int]) -> Iterator[None]:
    alias = router.db_for_write(UserTaskStatus)
    user_ids = sorted(asked)
    with transaction.atomic(using=alias):
        active = _locked_counts(alias, user_ids)
        for user_id in user_ids:
            if active.get(user_id, 0) + asked[user_id] > limit:
                raise TaskLimitExceeded(user_id, limit, active.get(user_id, 0), asked[user_id])
        yield
