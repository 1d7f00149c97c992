"""Who may see, cancel and delete which statuses and artifacts.

Visibility (which rows a viewer can find at all) is a queryset filter: owners see their own rows,
superusers all, and ``USER_TASKS_VISIBLE_STATUSES`` may widen it. Acting on a visible row goes
through Django's permission API (``user.has_perm(perm, obj)``), so a project can plug in
django-rules or its own backend; ``OwnerPermissionBackend`` grants the default owner rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from .conf import visible_statuses_rule
from .models import UserTaskArtifact, UserTaskStatus

VIEW_STATUS = "user_tasks_graphql.view_usertaskstatus"
CANCEL_STATUS = "user_tasks_graphql.cancel_usertaskstatus"
DELETE_STATUS = "user_tasks_graphql.delete_usertaskstatus"
VIEW_ARTIFACT = "user_tasks_graphql.view_usertaskartifact"

OWNER_STATUS_PERMISSIONS = frozenset({VIEW_STATUS, CANCEL_STATUS, DELETE_STATUS})
OWNER_ARTIFACT_PERMISSIONS = frozenset({VIEW_ARTIFACT})


class OwnerPermissionBackend:
    """Grants a task's owner view, cancel and delete on it, and view on its artifacts.

    Add ``"user_tasks_graphql.permissions.OwnerPermissionBackend"`` to
    ``AUTHENTICATION_BACKENDS`` (after ``ModelBackend``, which already grants superusers all).
    """

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if obj is None or not getattr(user_obj, "is_active", False) or not user_obj.is_authenticated:
            return False
        if isinstance(obj, UserTaskStatus):
            return perm in OWNER_STATUS_PERMISSIONS and obj.user_id == user_obj.pk
        if isinstance(obj, UserTaskArtifact):
            return perm in OWNER_ARTIFACT_PERMISSIONS and obj.status.user_id == user_obj.pk
        return False


def _widen(user: Any, queryset: QuerySet[UserTaskStatus]) -> QuerySet[UserTaskStatus]:
    rule = visible_statuses_rule()
    if rule is None:
        return queryset.none()
    widened: QuerySet[UserTaskStatus] = rule(user, queryset)
    return widened


def sees_other_owners(user: Any) -> bool:
    """Whether ``user`` may see statuses of other users (a superuser, or any user under a rule):
    their live events are then judged one by one."""
    return bool(user.is_superuser or visible_statuses_rule() is not None)


def visible_statuses(user: Any) -> QuerySet[UserTaskStatus]:
    """The statuses ``user`` can find: their own, all for superusers, plus the project's rule."""
    everything = UserTaskStatus.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return everything.none()
    if user.is_superuser:
        return everything
    extra = _widen(user, everything)
    if extra.query.is_empty():
        return everything.filter(user=user)
    return everything.filter(user=user) | extra


def visible_artifacts(user: Any) -> QuerySet[UserTaskArtifact]:
    """The artifacts of the statuses ``user`` can find (a join on the owner when no rule widens
    what they see: a subquery of visible statuses would be read for every page of artifacts)."""
    everything = UserTaskArtifact.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return everything.none()
    if user.is_superuser:
        return everything
    if visible_statuses_rule() is None:
        return everything.filter(status__user=user)
    return everything.filter(status__in=visible_statuses(user).values("pk"))


def can(user: Any, perm: str, obj: Any) -> bool:
    return bool(user.has_perm(perm, obj))


Shape = Callable[[QuerySet[Any]], QuerySet[Any]]


def find_status(user: Any, status_uuid: Any, shape: Shape | None = None) -> UserTaskStatus | None:
    """The status if ``user`` can find it and may view it, else None: another user's status is
    missing, exactly like one that does not exist. ``shape`` adds to the query (what to load)."""
    rows = visible_statuses(user)
    status = (shape(rows) if shape else rows).filter(uuid=status_uuid).first()
    if status is None or not can(user, VIEW_STATUS, status):
        return None
    return status


def find_artifact(user: Any, artifact_uuid: Any, shape: Shape | None = None) -> UserTaskArtifact | None:
    """The artifact if ``user`` can find it and may view it, else None (as ``find_status``)."""
    rows = visible_artifacts(user).select_related("status")
    artifact = (shape(rows) if shape else rows).filter(uuid=artifact_uuid).first()
    if artifact is None or not can(user, VIEW_ARTIFACT, artifact):
        return None
    return artifact
