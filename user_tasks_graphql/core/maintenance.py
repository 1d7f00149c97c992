"""Periodic clean-up: purge old finished statuses and tombstones, fail tasks whose worker died."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import conf
from .models import UserTaskStatus, UserTaskTombstone
from .states import ACTIVE_STATES, FINISHED_STATES, UserTaskState

logger = logging.getLogger(__name__)


def purge_old_user_tasks() -> int:
    """Delete finished top-level statuses created over ``USER_TASKS_MAX_AGE`` ago; return how many.

    Their children and artifacts go with them, and so do the artifacts' stored files (after the
    commit). A status still running, or with a child still running, is kept.
    """
    cutoff = timezone.now() - conf.max_age()
    running_child = UserTaskStatus.objects.filter(parent=OuterRef("pk"), state__in=ACTIVE_STATES)
    old = UserTaskStatus.objects.filter(parent=None, state__in=FINISHED_STATES, created__lt=cutoff).exclude(
        Exists(running_child)
    )
    roots = list(old.values_list("pk", flat=True))
    if roots:  # one cascading delete: children, artifacts and (after the commit) their files
        UserTaskStatus.objects.filter(pk__in=roots).delete()
    count = len(roots)
    if count:
        logger.info("Purged %d user task statuses created before %s", count, cutoff.isoformat())
    purge_old_tombstones()
    return count


TOMBSTONE_MARGIN = timedelta(hours=1)  # a deleting transaction may begin before the watermark it follows


def purge_old_tombstones() -> int:
    """Delete the tombstones no watermark within ``USER_TASKS_WATERMARK_RETENTION`` can need."""
    cutoff = timezone.now() - conf.watermark_retention() - TOMBSTONE_MARGIN
    count, _ = UserTaskTombstone.objects.filter(deleted__lt=cutoff).delete()
    return int(count)


def reap_stale_user_tasks() -> int:
    """Fail running tasks with no progress or heartbeat within ``USER_TASKS_STALE_AFTER``."""
    window = conf.stale_after()
    cutoff = timezone.now() - window
    stale = UserTaskStatus.objects.filter(state=UserTaskState.IN_PROGRESS, is_container=False, modified__lt=cutoff)
    count = 0
    for status in stale:
        status.fail(
            f"The worker running this task stopped responding: no progress or heartbeat for {window}. "
            "It was probably killed or lost its connection."
        )
        count += 1
    if count:
        logger.warning("Failed %d user tasks with no heartbeat since %s", count, cutoff.isoformat())
    return count
