"""Queries: one status or artifact by uuid, and paginated lists of both."""

from __future__ import annotations

import uuid

import strawberry
from asgiref.sync import sync_to_async
from strawberry.types import Info

from ..core.models import UserTaskArtifact, UserTaskStatus
from ..core.permissions import find_artifact, find_status, visible_artifacts, visible_statuses
from .context import viewer
from .filters import UserTaskStatusFilter, filter_q
from .pagination import PageArguments, PageInfo, encode_cursor, page_info, paginate
from .prefetch import plan_for, sub_selections
from .types import UserTaskArtifactType, UserTaskStatusType


@strawberry.type(name="UserTaskStatusEdge")
class UserTaskStatusEdge:
    cursor: str
    node: UserTaskStatusType


@strawberry.type(name="UserTaskStatusConnection")
class UserTaskStatusConnection:
    total_count: int
    edges: list[UserTaskStatusEdge]
    page_info: PageInfo


@strawberry.type(name="UserTaskArtifactEdge")
class UserTaskArtifactEdge:
    cursor: str
    node: UserTaskArtifactType


@strawberry.type(name="UserTaskArtifactConnection")
class UserTaskArtifactConnection:
    total_count: int
    edges: list[UserTaskArtifactEdge]
    page_info: PageInfo


def load_status(info: Info, status_uuid: uuid.UUID, selections: list | None = None) -> UserTaskStatus | None:
    """The status if the viewer may see it, with what the selection needs; else None."""
    plan = plan_for(UserTaskStatus, info.selected_fields[0].selections if selections is None else selections)
    return find_status(viewer(info), status_uuid, plan.apply)


def _status(info: Info, uuid: uuid.UUID) -> UserTaskStatusType | None:
    status = load_status(info, uuid)
    return UserTaskStatusType(instance=status) if status is not None else None


def _statuses(info: Info, filters: UserTaskStatusFilter | None, args: PageArguments) -> UserTaskStatusConnection:
    user = viewer(info)
    plan = plan_for(UserTaskStatus, sub_selections(info.selected_fields[0].selections, "edges", "node"))
    queryset = plan.apply(visible_statuses(user).filter(filter_q(filters)))
    page = paginate(queryset, args)
    edges = [
        UserTaskStatusEdge(cursor=info_cursor, node=UserTaskStatusType(instance=row))
        for info_cursor, row in _with_cursors(page.rows)
    ]
    return UserTaskStatusConnection(total_count=page.total_count, edges=edges, page_info=page_info(page))


def _artifact(info: Info, uuid: uuid.UUID) -> UserTaskArtifactType | None:
    plan = plan_for(UserTaskArtifact, info.selected_fields[0].selections)
    artifact = find_artifact(viewer(info), uuid, plan.apply)
    return UserTaskArtifactType(instance=artifact) if artifact is not None else None


def _artifacts(info: Info, status_uuid: uuid.UUID | None, args: PageArguments) -> UserTaskArtifactConnection:
    user = viewer(info)
    plan = plan_for(UserTaskArtifact, sub_selections(info.selected_fields[0].selections, "edges", "node"))
    queryset = visible_artifacts(user)
    if status_uuid is not None:
        queryset = queryset.filter(status__uuid=status_uuid)
    page = paginate(plan.apply(queryset), args)
    edges = [
        UserTaskArtifactEdge(cursor=cursor, node=UserTaskArtifactType(instance=row))
        for cursor, row in _with_cursors(page.rows)
    ]
    return UserTaskArtifactConnection(total_count=page.total_count, edges=edges, page_info=page_info(page))


def _with_cursors(rows: list) -> list:
    return [(encode_cursor(row), row) for row in rows]


@strawberry.type
class Query:
    @strawberry.field(description="null when missing or not visible to the viewer. UNAUTHENTICATED without a user.")
    async def user_task_status(self, info: Info, uuid: uuid.UUID) -> UserTaskStatusType | None:
        return await sync_to_async(_status)(info, uuid)

    @strawberry.field(description="Visible statuses, newest first. Owners see their own, superusers all.")
    async def user_task_statuses(
        self,
        info: Info,
        filters: UserTaskStatusFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> UserTaskStatusConnection:
        return await sync_to_async(_statuses)(info, filters, PageArguments(first, after, last, before))

    @strawberry.field(description="null when missing or not visible to the viewer.")
    async def user_task_artifact(self, info: Info, uuid: uuid.UUID) -> UserTaskArtifactType | None:
        return await sync_to_async(_artifact)(info, uuid)

    @strawberry.field(description="Visible artifacts, newest first, optionally of one status.")
    async def user_task_artifacts(
        self,
        info: Info,
        status_uuid: uuid.UUID | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> UserTaskArtifactConnection:
        return await sync_to_async(_artifacts)(info, status_uuid, PageArguments(first, after, last, before))
