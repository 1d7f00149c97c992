"""Which channel-layer groups carry an event: the status's own subscribers, its owner's list
subscribers, and the subscribers who see everything."""

from __future__ import annotations

import re
import uuid
from typing import Any

ALL_GROUP = "user_tasks.all"
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def status_group(status_uuid: uuid.UUID | str) -> str:
    if isinstance(status_uuid, str) and len(status_uuid) == 36 and _CANONICAL.fullmatch(status_uuid):
        return f"user_tasks.status.{status_uuid.replace('-', '')}"  # an event's uuid: no parsing per send
    return f"user_tasks.status.{uuid.UUID(str(status_uuid)).hex}"


def user_group(user_id: Any) -> str:
    return f"user_tasks.user.{user_id}"


def groups_for(event: dict[str, Any]) -> list[str]:
    return [status_group(event["uuid"]), user_group(event["user_id"]), ALL_GROUP]


STATUS_PREFIX, USER_PREFIX = status_group(uuid.UUID(int=0))[:-32], user_group("")


def routed_by(groups: list[str]) -> tuple[list[uuid.UUID], list[str], bool]:
    """What ``groups`` route: status uuids, user ids, and whether everything."""
    uuids, user_ids, everything = [], [], False
    for group in groups:
        if group == ALL_GROUP:
            everything = True
        elif group.startswith(STATUS_PREFIX):
            uuids.append(uuid.UUID(group[len(STATUS_PREFIX) :]))
        elif group.startswith(USER_PREFIX):
            user_ids.append(group[len(USER_PREFIX) :])
    return uuids, user_ids, everything
