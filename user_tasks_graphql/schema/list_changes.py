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

import enum
import time
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
from ..core.conf import visible_statuses_rule, watermark_interval
from ..core.events import GONE_SEQ, instance_from_event, load_events
from ..core.models import UserTaskStatus, UserTaskTombstone
from ..core.permissions import visible_statuses
from ..live.groups import ALL_GROUP, user_group
from ..live.hub import listen
from .context import viewer
from .errors import watermark_expired
from .filters import UserTaskStatusFilter, filter_q, q_matches
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
    return Viewer(user, filter_q(filters), bool(user.is_superuser or visible_statuses_rule() is not None))


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


async def list_changes(
    info: Info, filters: UserTaskStatusFilter | None, since: str | None
) -> AsyncGenerator[UserTaskListEvent, None]:
    point = point_from(since) if since is not None else None
    who = await sync_to_async(_viewer)(info, filters)
    inbox = LatestEvents(who.sees)
    widened: dict[int, bool] = {}  # another user's status this viewer may see: asked once each
    async with listen([ALL_GROUP] if who.everything else [user_group(who.user.pk)], inbox):
        changes, events = await sync_to_async(_read)(who, point, True)
        mark = watermark(changes.point)
        for message in _sent(inbox, changes, events, mark):
            yield message
        yield synced(mark)
        point, synced_at, unsynced = changes.point, time.monotonic(), False
        while True:
            wait = None if not unsynced else synced_at + watermark_interval() - time.monotonic()
            event = None if wait is not None and wait <= 0 else await inbox.next(wait)
            if event is None:
                changes, events = await sync_to_async(_read)(who, point, False)
                mark = watermark(changes.point)
                for message in _sent(inbox, changes, events, mark):
                    yield message
                yield synced(mark)
                point, synced_at, unsynced = changes.point, time.monotonic(), False
                continue
            if event["deleted"]:
                inbox.seen(event["uuid"], GONE_SEQ)
                yield deleted(mark, uuid.UUID(event["uuid"]))
            else:
                if not who.user.is_superuser and event["user_id"] != who.user.pk:
                    if event["id"] not in widened:
                        widened[event["id"]] = await sync_to_async(_visible_now)(who, event["id"])
                    if not widened[event["id"]]:
                        continue
                yield changed(mark, event)
            unsynced = True


def _sent(inbox: LatestEvents, changes: Changes, events: list[dict[str, Any]], mark: str) -> list[UserTaskListEvent]:
    """The messages of a read: the rows the client does not know in this state, then deletions."""
    messages = []
    for event in events:
        if inbox.seen(event["uuid"], event["seq"]):
            messages.append(changed(mark, event))
    for deletion in changes.deletions:
        if inbox.seen(str(deletion.uuid), GONE_SEQ):
            messages.append(deleted(mark, deletion.uuid))
    return messages
