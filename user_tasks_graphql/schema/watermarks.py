"""Watermarks as clients see them: a point in the status table's history (``core.changes``),
sealed (``sealing.py``), so a client can only hand back one this server gave out. One that is not,
is past ``USER_TASKS_WATERMARK_RETENTION``, or cannot be resumed from here is ``WATERMARK_EXPIRED``:
the client reloads its list."""

from __future__ import annotations

import json
import time

from ..core.changes import Point
from ..core.conf import watermark_retention
from . import sealing
from .errors import watermark_expired

SALT = b"user_tasks_graphql.schema.watermarks"


def watermark(point: Point) -> str:
    return sealing.seal(SALT, json.dumps([point.at, point.snapshot, point.tombstone]))


def point_from(token: str) -> Point:
    opened = sealing.unseal(SALT, token)
    if opened is None:
        raise watermark_expired("Unknown watermark: reload the list.")
    at, snapshot, tombstone = json.loads(opened)
    if time.time() - at > watermark_retention().total_seconds():
        raise watermark_expired("The watermark is older than this server keeps changes: reload the list.")
    return Point(at, snapshot, tombstone)
