"""Subscriptions: one task's state (snapshot first, then each newer event, then complete), every
change to the tasks a viewer can see, and the gapless list of them (``list_changes.py``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from asgiref.sync import sync_to_async
from strawberry.types import Info

from ..core.models import UserTaskStatus
from ..core.permissions import find_status, sees_other_owners
from ..live.groups import ALL_GROUP, status_group, user_group
from ..live.hub import listen
from .context import viewer
from .errors import not_found
from .filters import UserTaskStatusFilter, event_matches
from .list_changes import UserTaskListEvent, list_changes
from .live import LatestEvents, Selection, loader
from .queries import load_status
from .types import UserTaskStatusType


def _visible(user: Any, status_uuid: uuid.UUID) -> bool:
    return find_status(user, status_uuid) is not None


async def _one_status(info: Info, status_uuid: uuid.UUID) -> AsyncGenerator[UserTaskStatus, None]:
    user = await sync_to_async(viewer)(info)
    if not await sync_to_async(_visible)(user, status_uuid):
        raise not_found()
    key = str(status_uuid)
    events = LatestEvents(lambda m: m["uuid"] == key)
    selection = Selection(info)
    async with listen([status_group(status_uuid)], events):
        # already listening: nothing published from here on can be missed
        snapshot = await sync_to_async(load_status)(info, status_uuid)
        if snapshot is None:
            return
        yield snapshot
        if snapshot.is_finished:
            return
        events.seen(key, snapshot.seq)
        async for event in events:
            if event["deleted"]:
                return
            status = await loader.load(event, selection)
            if status is None:
                return
            events.seen(key, status.seq)
            yield status
            if status.is_finished:
                return


async def _many_statuses(info: Info, filters: UserTaskStatusFilter | None) -> AsyncGenerator[UserTaskStatus, None]:
    user = await sync_to_async(viewer)(info)
    everything = await sync_to_async(sees_other_owners)(user)
    groups = [ALL_GROUP] if everything else [user_group(user.pk)]
    visible: dict[int, bool] = {}

    def accept(message: dict[str, Any]) -> bool:
        if message["deleted"] or not event_matches(filters, message):
            return False
        return everything or message["user_id"] == user.pk

    events = LatestEvents(accept)
    selection = Selection(info)
    async with listen(groups, events):
        async for event in events:
            if not user.is_superuser and event["user_id"] != user.pk:
                if event["id"] not in visible:  # widened visibility: ask once per status
                    visible[event["id"]] = await sync_to_async(_visible)(user, uuid.UUID(event["uuid"]))
                if not visible[event["id"]]:
                    continue
            status = await loader.load(event, selection)
            if status is not None:
                yield status


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "The current state of one task at once, then every change (progress, state, stateText, name,\n"
            "attempts, new artifacts), newest state wins when events arrive faster than the client reads.\n"
            "Completes after sending a finished state. NOT_FOUND error for a missing or invisible task.\n"
            "A task's artifacts are stored before its finished state is published, so the finished event lists\n"
            "them. An event may repeat the previous state. If the task is deleted, the subscription completes."
        )
    )
    async def user_task_status(self, info: Info, uuid: uuid.UUID) -> AsyncGenerator[UserTaskStatusType, None]:
        async for status in _one_status(info, uuid):
            yield status  # type: ignore[misc]

    @strawberry.subscription(
        description=(
            "Every change to any status visible to the viewer, new tasks included, matching the filter\n"
            "(topLevel defaults to true here too). Never completes on its own."
        )
    )
    async def user_task_statuses(
        self, info: Info, filters: UserTaskStatusFilter | None = None
    ) -> AsyncGenerator[UserTaskStatusType, None]:
        async for status in _many_statuses(info, filters):
            yield status  # type: ignore[misc]

    @strawberry.subscription(
        description=(
            "The gapless list: every change to the statuses visible to the viewer that match the filter\n"
            "(topLevel defaults to true), deletions included. With `since` (a list's or an earlier\n"
            "message's watermark), first every change committed after it, then SYNCED; without, SYNCED at\n"
            "once. Then live changes, each status's newer than what was sent, and SYNCED again whenever the\n"
            "watermark moves on. A status may repeat a state sent before (compare `seq`). A watermark this\n"
            "server cannot resume from is WATERMARK_EXPIRED: reload the list. Never completes on its own."
        )
    )
    async def user_task_status_changes(
        self, info: Info, filters: UserTaskStatusFilter | None = None, since: str | None = None
    ) -> AsyncGenerator[UserTaskListEvent, None]:
        async for message in list_changes(info, filters, since):
            yield message
