"""The gapless list subscription: every change to the statuses a viewer sees, deletions included,
from a watermark on.

Listening starts first; then one consistent read gives the changes after ``since`` and a point,
so a change is either in that read or published after listening began: never neither. Live events
follow, each status's newer than what the client has (``seq``). Every message carries the
watermark to resume from: the point of the last read, which saw every change it covers. While live
events flow, a read at most every ``USER_TASKS_WATERMARK_INTERVAL`` moves it on (sending whatever
the events did not bring) and says so with ``SYNCED``.
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import strawberry
from asgiref.sync import sync_to_async
from django.db.models import Q
from strawberry import relay
from strawberry.types import Info

from ..core.changes import Changes, Point, PointUnknown, changes_since
from ..core.conf import watermark_interval
from ..core.events import GONE_SEQ, instance_from_event, load_events
from ..core.models import UserTaskStatus, UserTaskTombstone
from ..core.permissions import sees_other_owners, visible_statuses
from ..live.groups import ALL_GROUP, user_group
from ..live.hub import listen
from .context import viewer
from .errors import watermark_expired
from .filters import UserTaskStatusFilter, filter_q, q_matches
from .list_sharing import MarkedResults, change_results
from .live import LatestEvents, selects_relation
from .loading import first_selected
from .types import UserTaskStatusType
from .watermarks import point_from, watermark


@strawberry.enum(name="UserTaskListEventKind", description="What a list event says.")
class UserTaskListEventKind(enum.Enum):
    CHANGED = strawberry.enum_value("CHANGED", description="`status` is new or changed.")
    DELETED = strawberry.enum_value("DELETED", description="The status `deletedId`/`deletedUuid` was deleted.")
    SYNCED = strawberry.enum_value(
        "SYNCED",
        description=(
            "Every change up to `watermark` has been sent: after the replay (the subscription is listening,\n"
            "even without `since`), and whenever the watermark moves on."
        ),
    )


@strawberry.type(
    name="UserTaskListEvent",
    description="One message of userTaskStatusChanges. Keep the newest `watermark` to resume from.",
)
class UserTaskListEvent:
    kind: UserTaskListEventKind
    watermark: str = strawberry.field(description="Pass as `since` to resume after this message.")
    deleted_uuid: uuid.UUID | None = strawberry.field(default=None, description="The deleted status (DELETED).")
    event: strawberry.Private[dict[str, Any] | None] = None
    shared_results: strawberry.Private[MarkedResults | None] = None  # a live change's (list_sharing.py)

    @strawberry.field(description="The Node id of the deleted status (DELETED), as `UserTaskStatus.id` was.")
    def deleted_id(self) -> strawberry.ID | None:
        if self.deleted_uuid is None:
            return None
        return strawberry.ID(str(relay.GlobalID("UserTaskStatus", str(self.deleted_uuid))))

    @strawberry.field(description="The status's current state (CHANGED).")
    async def status(self, info: Info) -> UserTaskStatusType | None:
        if self.event is None:
            return None
        if not selects_relation(info.selected_fields[0].selections):
            return instance_from_event(UserTaskStatus, self.event)
        found = await sync_to_async(first_selected)(UserTaskStatus.objects.filter(pk=self.event["id"]), info)
        return found


def changed(mark: str, event: dict[str, Any]) -> UserTaskListEvent:
    return UserTaskListEvent(kind=UserTaskListEventKind.CHANGED, watermark=mark, event=event)


def deleted(mark: str, status_uuid: uuid.UUID) -> UserTaskListEvent:
    return UserTaskListEvent(kind=UserTaskListEventKind.DELETED, watermark=mark, deleted_uuid=status_uuid)


def synced(mark: str) -> UserTaskListEvent:
    return UserTaskListEvent(kind=UserTaskListEventKind.SYNCED, watermark=mark)


@dataclass
class Viewer:
    """Whose list, and which of its statuses: what the subscription checks every message against."""

    user: Any
    rule: Q
    everything: bool

    def rows(self) -> Any:
        return visible_statuses(self.user).filter(self.rule)

    def tombstones(self) -> Any:
        every = UserTaskTombstone.objects.all()
        return every if self.everything else every.filter(user=self.user)

    def sees(self, event: dict[str, Any]) -> bool:
        if not (self.everything or event["user_id"] == self.user.pk):
            return False
        return bool(event["deleted"]) or q_matches(self.rule, event)


def _viewer(info: Info, filters: UserTaskStatusFilter | None) -> Viewer:
    user = viewer(info)
    return Viewer(user, filter_q(filters), sees_other_owners(user))


def _read(who: Viewer, since: Point | None, replay: bool) -> tuple[Changes, list[dict[str, Any]]]:
    """What changed after ``since``, the rows as events (oldest first)."""
    try:
        changes = changes_since(since, who.rows(), who.tombstones(), replay)
    except PointUnknown as exc:
        raise watermark_expired(f"{exc} Reload the list.") from exc
    events = sorted(load_events(UserTaskStatus, changes.status_ids), key=lambda event: event["created"])
    return changes, events


def _visible_now(who: Viewer, status_id: int) -> bool:
    return bool(who.rows().filter(pk=status_id).exists())


class ListStream:
    """One subscription's state: its viewer, its inbox, and the point its client can resume from."""

    def __init__(self, who: Viewer, since: str | None) -> None:
        self.who = who
        self.inbox = LatestEvents(who.sees)
        self.point = point_from(since) if since is not None else None
        self.mark = since or ""  # what every message carries until the next SYNCED
        self.synced_at = 0.0  # the loop's clock at the last read
        self.unsynced = False  # live messages were sent since the last read
        self._widened: dict[int, bool] = {}  # another user's status this viewer may see: asked once each

    def groups(self) -> list[str]:
        return [ALL_GROUP] if self.who.everything else [user_group(self.who.user.pk)]

    async def read(self, replay: bool) -> list[UserTaskListEvent]:
        """What changed since the point, carrying the old watermark (a client that leaves halfway
        resumes from before them), then SYNCED with the new one."""
        changes, events = await sync_to_async(_read)(self.who, self.point, replay)
        messages = _sent(self.inbox, changes, events, self.mark)
        self.point, self.mark = changes.point, watermark(changes.point)
        self.synced_at, self.unsynced = asyncio.get_running_loop().time(), False
        return [*messages, synced(self.mark)]

    async def message(self, event: dict[str, Any]) -> UserTaskListEvent | None:
        if not self.unsynced:  # the next read is due an interval after the last
            self.unsynced = True
            self.inbox.alarm_at(self.synced_at + watermark_interval())
        if event["deleted"]:
            self.inbox.seen(event["uuid"], GONE_SEQ)
            return deleted(self.mark, uuid.UUID(event["uuid"]))
        user = self.who.user
        if not user.is_superuser and event["user_id"] != user.pk:
            if event["id"] not in self._widened:
                self._widened[event["id"]] = await sync_to_async(_visible_now)(self.who, event["id"])
            if not self._widened[event["id"]]:
                return None
        message = changed(self.mark, event)
        message.shared_results = change_results.marked(event, self.mark)
        return message


async def list_changes(
    info: Info, filters: UserTaskStatusFilter | None, since: str | None
) -> AsyncGenerator[UserTaskListEvent, None]:
    stream = ListStream(await sync_to_async(_viewer)(info, filters), since)
    async with listen(stream.groups(), stream.inbox):
        try:
            for message in await stream.read(replay=True):
                yield message
            while True:
                event = await stream.inbox.next()
                if event is None:  # the alarm: a read is due
                    for message in await stream.read(replay=False):
                        yield message
                elif (live := await stream.message(event)) is not None:
                    yield live
        finally:
            stream.inbox.close()


def _sent(inbox: LatestEvents, changes: Changes, events: list[dict[str, Any]], mark: str) -> list[UserTaskListEvent]:
    """The messages of a read: the rows the client does not know in this state, then deletions."""
    messages = []
    for event in events:
        if inbox.seen(event["uuid"], event["seq"]):
            messages.append(changed(mark, event))
    for gone in changes.deletions:
        if inbox.seen(str(gone), GONE_SEQ):
            messages.append(deleted(mark, gone))
    return messages
