"""Project-side permission rules used by the tests: a backend and a visibility widening."""

from typing import Any

from django.db.models import QuerySet

from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.permissions import VIEW_ARTIFACT, VIEW_STATUS


class ViewOnlyBackend:
    """Owners may look at their tasks but not cancel or delete them."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if perm == VIEW_STATUS and isinstance(obj, UserTaskStatus):
            return obj.user_id == user_obj.pk
        return perm == VIEW_ARTIFACT and obj is not None and obj.status.user_id == user_obj.pk


class StaffViewBackend:
    """Staff may view everything (but cancel nothing)."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return bool(user_obj.is_staff) and perm in (VIEW_STATUS, VIEW_ARTIFACT)


def staff_see_all(user: Any, queryset: QuerySet[UserTaskStatus]) -> QuerySet[UserTaskStatus]:
    return queryset if user.is_staff else queryset.none()
