"""What a listener missed while the channel layer was away, read from the database."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from ..core.events import gone_event, load_events
from ..core.models import UserTaskStatus
from .groups import routed_by

MAX_CATCH_UP = 10_000


def changed_since(since: float, groups: Iterable[str]) -> list[dict[str, Any]]:
    """The current events of the statuses ``groups`` route, changed after ``since`` (a timestamp),
    plus a deletion event for each status group whose status is gone."""
    uuids, user_ids, everything = routed_by(list(groups))
    changed = UserTaskStatus.objects.filter(modified__gte=datetime.datetime.fromtimestamp(since, datetime.UTC))
    if not everything:
        changed = changed.filter(Q(uuid__in=uuids) | Q(user_id__in=user_ids))
    events = load_events(UserTaskStatus, changed.order_by("-modified").values_list("pk", flat=True)[:MAX_CATCH_UP])
    present = set(UserTaskStatus.objects.filter(uuid__in=uuids).values_list("uuid", flat=True))
    events.extend(gone_event(gone) for gone in set(uuids) - present)
    return events
