"""Queries: one status or artifact by uuid, and paginated lists of both.

What a query selects is loaded by strawberry-django's optimizer, called by each root resolver
(``optimize``: joins and prefetches for the relations selected, one query per relation whatever the
page size) rather than by its extension, which would wrap every field of every row in a hook; a
host's schema may add the extension, which finds these querysets optimized already. Which rows
the viewer may see: the types' ``get_queryset``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry.types import Info
from strawberry_django.filters import apply as apply_filters
from strawberry_django.optimizer import optimize

from ..core.models import UserTaskArtifact, UserTaskStatus
from ..core.permissions import VIEW_ARTIFACT, VIEW_STATUS, can
from .connections import NEWEST_FIRST, UserTaskArtifactConnection, UserTaskStatusConnection
from .context import viewer
from .filters import UserTaskStatusFilter, UserTaskStatusOrder
from .loading import first_selected
from .types import UserTaskArtifactType, UserTaskStatusType


def _one(info: Info, rows: QuerySet[Any], permission: str) -> Any:
    """The row if the viewer may see it, with what the selection asks; else None."""
    found = first_selected(rows, info)
    if found is None or not can(viewer(info), permission, found):
        return None
    return found


def load_status(info: Info, status_uuid: uuid.UUID) -> UserTaskStatus | None:
    """The status if the viewer may see it, loaded with what ``info``'s selection needs; else None."""
    rows = UserTaskStatusType.get_queryset(UserTaskStatus.objects.filter(uuid=status_uuid), info)
    found: UserTaskStatus | None = _one(info, rows, VIEW_STATUS)
    return found


def load_artifact(info: Info, artifact_uuid: uuid.UUID) -> UserTaskArtifact | None:
    rows = UserTaskArtifactType.get_queryset(UserTaskArtifact.objects.filter(uuid=artifact_uuid), info)
    found: UserTaskArtifact | None = _one(info, rows.select_related("status"), VIEW_ARTIFACT)
    return found


@strawberry.type
class Query:
    @strawberry_django.field(
        description="null when missing or not visible to the viewer. UNAUTHENTICATED without a user."
    )
    def user_task_status(self, info: Info, uuid: uuid.UUID) -> UserTaskStatusType | None:
        return load_status(info, uuid)  # type: ignore[return-value]

    @strawberry_django.connection(
        UserTaskStatusConnection,
        ordering=UserTaskStatusOrder,
        description="Visible statuses, newest first. Owners see their own, superusers all.",
    )
    def user_task_statuses(
        self, info: Info, filters: UserTaskStatusFilter | None = None
    ) -> Iterable[UserTaskStatusType]:
        rows = apply_filters(filters or UserTaskStatusFilter(), UserTaskStatus.objects.order_by(*NEWEST_FIRST), info)
        return optimize(rows, info)  # type: ignore[return-value]

    @strawberry_django.field(description="null when missing or not visible to the viewer.")
    def user_task_artifact(self, info: Info, uuid: uuid.UUID) -> UserTaskArtifactType | None:
        return load_artifact(info, uuid)  # type: ignore[return-value]

    @strawberry_django.connection(
        UserTaskArtifactConnection, description="Visible artifacts, newest first, optionally of one status."
    )
    def user_task_artifacts(self, info: Info, status_uuid: uuid.UUID | None = None) -> Iterable[UserTaskArtifactType]:
        rows = UserTaskArtifact.objects.order_by(*NEWEST_FIRST)
        if status_uuid is not None:
            rows = rows.filter(status__uuid=status_uuid)
        return optimize(rows, info)  # type: ignore[return-value]
