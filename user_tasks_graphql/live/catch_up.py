"""What a listener missed while the channel layer was away, read from the database."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from ..core.events import gone_event, load_events
from ..core.models import UserTaskStatus, UserTaskTombstone
from .groups import routed_by

MAX_CATCH_UP = 10_000


def changed_since(since: float, groups: Iterable[str]) -> list[dict[str, Any]]:
    """The current events of the statuses ``groups`` route, changed after ``since`` (a timestamp),
    a deletion event for each status group whose status is gone, and one for each of the users'
    statuses deleted meanwhile (their tombstones)."""
    uuids, user_ids, everything = routed_by(list(groups))
    moment = datetime.datetime.fromtimestamp(since, datetime.UTC)
    changed = UserTaskStatus.objects.filter(modified__gte=moment)
    deleted = UserTaskTombstone.objects.filter(deleted__gte=moment)
    if not everything:
        changed = changed.filter(Q(uuid__in=uuids) | Q(user_id__in=user_ids))
        deleted = deleted.filter(user_id__in=user_ids)
    events = load_events(UserTaskStatus, changed.order_by("-modified").values_list("pk", flat=True)[:MAX_CATCH_UP])
    present = set(UserTaskStatus.objects.filter(uuid__in=uuids).values_list("uuid", flat=True))
    events.extend(gone_event(gone) for gone in set(uuids) - present)
    events.extend(gone_event(*values) for values in deleted.values_list("uuid", "user_id")[:MAX_CATCH_UP])
    return events
