"""Points in the history of the status table, and what changed after one.

A list client resumes from a point: every change committed after it is sent again. Commit order is
not timestamp order (a transaction that wrote an older ``modified`` may commit after one that wrote
a newer), so a point is not a time:

- On PostgreSQL a point is the MVCC snapshot of the statement that read (``pg_current_snapshot()``).
  A row version written by a transaction that snapshot does not see (running then, or begun later)
  is a change after the point, however old its ``modified``: the row's ``xmin``, widened to 64 bits
  against the reading statement's own snapshot, is not visible in the point's.
- On SQLite writers take turns, so tombstone ids grow in commit order; rows carry no such mark, so a
  resume sends every matching row again (embedded deployments are small).

Every read here is one consistent view: one statement on PostgreSQL, one transaction on SQLite.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, router, transaction
from django.db.models import QuerySet

from .models import UserTaskStatus, UserTaskTombstone

MAX_CHANGES = 10_000


class PointUnknown(ValueError):
    """A point this database cannot resume from: from another database, or too many changes since."""


@dataclass(frozen=True)
class Point:
    at: float  # when it was taken (time.time()), for the retention
    snapshot: str | None = None  # PostgreSQL
    tombstone: int = 0  # elsewhere: the newest tombstone id it saw


@dataclass(frozen=True)
class Changes:
    point: Point  # the view the changes were read in: everything up to it is in them
    status_ids: list[int]  # rows changed after the point asked about, as that view saw them
    deletions: list[uuid.UUID]  # statuses deleted after the point asked about


def _alias() -> str:
    return router.db_for_read(UserTaskStatus)


def _is_postgresql(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


def current_point() -> Point:
    """The point of a read that starts now (take it before reading a list)."""
    alias = _alias()
    if _is_postgresql(alias):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_current_snapshot()::text")
            return Point(time.time(), snapshot=cursor.fetchone()[0])
    newest = UserTaskTombstone.objects.using(alias).order_by("-pk").values_list("pk", flat=True).first()
    return Point(time.time(), tombstone=newest or 0)


def changes_since(since: Point | None, rows: QuerySet[Any], tombstones: QuerySet[Any], replay: bool) -> Changes:
    """The current point and, from ``rows`` and ``tombstones`` (the viewer's), what changed after
    ``since`` (nothing without one). On SQLite ``replay`` sends every row (a resume) or none (a
    newer point after live events, which cannot skip a row since a resume would send it anyway)."""
    alias = _alias()
    if since is not None and (since.snapshot is None) == _is_postgresql(alias):
        raise PointUnknown("The watermark was taken on another database.")
    if _is_postgresql(alias):
        return _postgresql_changes(alias, since, rows, tombstones)
    with transaction.atomic(using=alias):  # one view: SQLite reads a transaction from one snapshot
        point = current_point()
        ids = list(rows.values_list("pk", flat=True)[: MAX_CHANGES + 1]) if since and replay else []
        found = tombstones.filter(pk__gt=since.tombstone, pk__lte=point.tombstone) if since else tombstones.none()
        deletions = list(found.values_list("uuid", flat=True)[: MAX_CHANGES + 1])
    return _checked(Changes(point, ids, deletions))


def _xid_after(table: str) -> str:
    """SQL: whether the row of ``table`` was written after the snapshot given as parameter. The
    32-bit ``xmin`` widened against the statement's next xid (a live row's is within 2**31 of it);
    xids below 3 are frozen or bootstrap rows, older than any point."""
    xmin = f"{table}.xmin::text::bigint"
    following = "pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
    return (
        f"({xmin} >= 3 AND NOT pg_visible_in_snapshot("
        f"({following} - (({following} - {xmin}) & 4294967295))::text::xid8, %s::pg_snapshot))"
    )


def _postgresql_changes(alias: str, since: Point | None, rows: QuerySet[Any], tombstones: QuerySet[Any]) -> Changes:
    quote = connections[alias].ops.quote_name
    if since is None:
        return Changes(current_point(), [], [])
    changed = rows.extra(where=[_xid_after(quote(UserTaskStatus._meta.db_table))], params=[since.snapshot])
    gone = tombstones.extra(where=[_xid_after(quote(UserTaskTombstone._meta.db_table))], params=[since.snapshot])
    ids_sql, ids_params = _ids(changed)
    gone_sql, gone_params = _ids(gone)
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT pg_current_snapshot()::text, pg_snapshot_xmax(%s::pg_snapshot) <= "
            f"pg_snapshot_xmax(pg_current_snapshot()), ARRAY({ids_sql} LIMIT {MAX_CHANGES + 1}), "
            f"ARRAY({gone_sql} LIMIT {MAX_CHANGES + 1})",
            [since.snapshot, *ids_params, *gone_params],
        )
        snapshot, known, ids, gone_ids = cursor.fetchone()
    if not known:
        raise PointUnknown("The watermark is from another database.")
    found = UserTaskTombstone.objects.using(alias).filter(pk__in=gone_ids).order_by("pk")
    deletions = list(found.values_list("uuid", flat=True))
    return _checked(Changes(Point(time.time(), snapshot=snapshot), list(ids), deletions))


def _ids(rows: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    """SQL selecting the primary keys of ``rows`` (nothing for a query that can match nothing)."""
    try:
        return rows.values_list("pk").query.sql_with_params()
    except EmptyResultSet:
        return "SELECT NULL::bigint WHERE false", ()


def _checked(changes: Changes) -> Changes:
    if len(changes.status_ids) > MAX_CHANGES or len(changes.deletions) > MAX_CHANGES:
        raise PointUnknown(f"Over {MAX_CHANGES} changes since the watermark.")
    return changes


def record_deletion(status: UserTaskStatus) -> None:
    """Keep a tombstone of a status being deleted, in the deleting transaction."""
    UserTaskTombstone.objects.create(uuid=status.uuid, user_id=status.user_id)
