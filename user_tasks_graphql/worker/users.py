"""Every user task of a call must name a user that exists: checked before anything is published."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from ..core.models import UserTaskStatus
from .plan import Node, UserLeaf, user_leaves

MISSING_USER_ID = "Each invocation of a UserTaskMixin subclass must include the user_id"


_checked = threading.local()


@contextmanager
def users_checked(user_ids: set[Any]) -> Iterator[None]:
    """While ``apply_async`` publishes, the users it has just validated are not looked up again
    when the rows are created."""
    previous: frozenset[Any] = getattr(_checked, "user_ids", frozenset())
    _checked.user_ids = previous | user_ids
    try:
        yield
    finally:
        _checked.user_ids = previous


def _just_checked(user_id: Any) -> bool:
    try:
        return user_id in getattr(_checked, "user_ids", frozenset())
    except TypeError:  # unhashable: never validated
        return False


def resolve_user_id(arguments: Mapping[str, Any]) -> Any:
    """The validated ``user_id`` argument: TypeError when absent, ValueError when no such user."""
    if "user_id" not in arguments:
        raise TypeError(MISSING_USER_ID)
    user_id = arguments["user_id"]
    if _just_checked(user_id):
        return user_id
    try:
        exists = get_user_model()._default_manager.filter(pk=user_id).exists()
    except (TypeError, ValueError, ValidationError):
        exists = False
    if not exists:
        raise ValueError(f"Invalid user_id: {user_id!r}")
    return user_id


def leaf_arguments(user_leaf: UserLeaf) -> dict[str, Any]:
    """The leaf's arguments by name, with a validated ``user_id`` (raises TypeError/ValueError).

    A step that receives the previous result is tried with a placeholder for it first.
    """
    leaf, task = user_leaf.leaf, user_leaf.task
    attempts = [(None, *leaf.args), tuple(leaf.args)] if leaf.receives_result else [tuple(leaf.args)]
    error: Exception | None = None
    for args in attempts:
        try:
            arguments = task.arguments_as_dict(*args, **leaf.kwargs)
            resolve_user_id(arguments)
            return arguments
        except (TypeError, ValueError) as exc:
            error = error or exc
    assert error is not None
    raise error


def validate_plan(plan: Node) -> list[tuple[Any, str]]:
    """Raise before publishing if any user task in the plan lacks a valid ``user_id``; else each
    user task's user (as the user model's primary key) and task id ("" when Celery will make one)."""
    to_pk = get_user_model()._meta.pk.to_python
    return [(to_pk(leaf_arguments(user_leaf)["user_id"]), user_leaf.leaf.task_id) for user_leaf in user_leaves(plan)]


def new_tasks_by_user(tasks: list[tuple[Any, str]]) -> Counter[Any]:
    """How many of ``tasks`` each user would newly have: a task id that has a row already (a
    retry, a redelivered call) is not new."""
    known = {task_id for _, task_id in tasks if task_id}
    if known:
        known = set(UserTaskStatus.objects.filter(task_id__in=known).values_list("task_id", flat=True))
    return Counter(user_id for user_id, task_id in tasks if not task_id or task_id not in known)
