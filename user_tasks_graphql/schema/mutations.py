"""Mutations: cancel and delete a task the viewer may act on."""

from __future__ import annotations

import uuid

import strawberry
from asgiref.sync import sync_to_async
from django.db import transaction
from strawberry.types import Info

from ..core.models import UserTaskStatus
from ..core.permissions import CANCEL_STATUS, DELETE_STATUS, can, find_status
from .context import viewer
from .errors import forbidden, not_found
from .queries import load_status
from .types import UserTaskStatusType


def _acting_on(info: Info, status_uuid: uuid.UUID, perm: str, action: str) -> UserTaskStatus:
    """The status to act on: NOT_FOUND if the viewer cannot see it, FORBIDDEN if they may not act."""
    user = viewer(info)
    status = find_status(user, status_uuid)
    if status is None:
        raise not_found()
    if not can(user, perm, status):
        raise forbidden(action)
    return status


def _cancel(info: Info, uuid: uuid.UUID) -> UserTaskStatus:
    status = _acting_on(info, uuid, CANCEL_STATUS, "cancel this task")
    status.cancel()
    canceled = load_status(info, uuid)
    if canceled is None:  # deleted meanwhile
        raise not_found()
    return canceled


def _delete(info: Info, uuid: uuid.UUID) -> uuid.UUID:
    status = _acting_on(info, uuid, DELETE_STATUS, "delete this task")
    if not status.is_finished:
        status.cancel()
    with transaction.atomic():
        status.delete()
    return uuid


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "Cancel a task (and, for a container, all its children). Idempotent: cancelling a finished\n"
            "task returns it unchanged. Returns the status after the change."
        )
    )
    async def cancel_user_task(self, info: Info, uuid: uuid.UUID) -> UserTaskStatusType:
        return await sync_to_async(_cancel)(info, uuid)  # type: ignore[return-value]

    @strawberry.mutation(
        description=(
            "Delete a finished or unfinished status with its children and artifacts (a running task is canceled "
            "first). Returns the uuid deleted."
        )
    )
    async def delete_user_task(self, info: Info, uuid: uuid.UUID) -> uuid.UUID:
        return await sync_to_async(_delete)(info, uuid)
