"""django-user-tasks' two tables, read with plain SQL by their table and column names.

Plain SQL rather than its models: during a switch its app may already be out of
``INSTALLED_APPS`` (its models then cannot even be imported) while its tables still hold the
history, and its models pull in Celery, django-model-utils and its Celery signal handlers. Its
tables have kept these names and columns since its first migration (later ones only changed the
url column's type). Rows are read a batch at a time, by primary key, so a large table is never in
memory at once and no cursor stays open across the importer's transactions.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.apps import apps
from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime

STATUS_TABLE = "user_tasks_usertaskstatus"
ARTIFACT_TABLE = "user_tasks_usertaskartifact"
STATUS_COLUMNS = (
    "id", "uuid", "user_id", "task_id", "parent_id", "is_container", "task_class", "name", "state",
    "completed_steps", "total_steps", "attempts", "created", "modified",
)  # fmt: skip
ARTIFACT_COLUMNS = ("id", "uuid", "status_id", "name", "file", "url", "text", "created", "modified")


class LegacyTablesMissing(Exception):
    """django-user-tasks' tables are not in the database (or not as its migrations made them)."""


@dataclass(frozen=True)
class LegacyStatus:
    id: int
    uuid: UUID
    user_id: int
    task_id: str
    parent_id: int | None
    parent_uuid: UUID | None
    is_container: bool
    task_class: str
    name: str
    state: str
    completed_steps: int
    total_steps: int
    attempts: int
    created: datetime.datetime
    modified: datetime.datetime


@dataclass(frozen=True)
class LegacyArtifact:
    id: int
    uuid: UUID
    status_id: int
    status_uuid: UUID
    name: str
    file: str | None
    url: str
    text: str
    created: datetime.datetime
    modified: datetime.datetime


class LegacyTables:
    """django-user-tasks' statuses and artifacts in one database."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        quote = connection.ops.quote_name
        self._status_table, self._artifact_table = quote(STATUS_TABLE), quote(ARTIFACT_TABLE)
        status = ", ".join(f"s.{quote(column)}" for column in STATUS_COLUMNS)
        self._statuses = (
            f"SELECT {status}, p.{quote('uuid')} FROM {self._status_table} s "
            f"LEFT JOIN {self._status_table} p ON p.{quote('id')} = s.{quote('parent_id')} "
        )
        artifact = ", ".join(f"a.{quote(column)}" for column in ARTIFACT_COLUMNS)
        self._artifacts = (
            f"SELECT {artifact}, s.{quote('uuid')} FROM {self._artifact_table} a "
            f"JOIN {self._status_table} s ON s.{quote('id')} = a.{quote('status_id')} "
        )
        self._id = quote("id")

    def check(self) -> None:
        """Raise ``LegacyTablesMissing`` with what to do, unless both tables are there with their columns."""
        alias = self.connection.alias
        with self.connection.cursor() as cursor:
            tables = set(self.connection.introspection.table_names(cursor))
            missing = [table for table in (STATUS_TABLE, ARTIFACT_TABLE) if table not in tables]
            if missing:
                raise LegacyTablesMissing(_missing_tables_message(alias, missing))
            for table, wanted in ((STATUS_TABLE, STATUS_COLUMNS), (ARTIFACT_TABLE, ARTIFACT_COLUMNS)):
                found = {column.name for column in self.connection.introspection.get_table_description(cursor, table)}
                lacking = [column for column in wanted if column not in found]
                if lacking:
                    raise LegacyTablesMissing(
                        f"django-user-tasks' table {table} in database '{alias}' has no column "
                        f"{', '.join(lacking)}: it is not the table its migrations make, so nothing was imported."
                    )

    def count(self, table: str) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {self.connection.ops.quote_name(table)}")
            return int(cursor.fetchone()[0])

    def statuses_after(self, last_id: int, limit: int) -> list[LegacyStatus]:
        """The next ``limit`` statuses by primary key after ``last_id``, each with its parent's uuid."""
        rows = self._fetch(f"{self._statuses}WHERE s.{self._id} > %s ORDER BY s.{self._id} LIMIT %s", [last_id, limit])
        return [self._status(row) for row in rows]

    def statuses_with_ids(self, ids: Sequence[int]) -> list[LegacyStatus]:
        placeholders = ", ".join(["%s"] * len(ids))
        rows = self._fetch(f"{self._statuses}WHERE s.{self._id} IN ({placeholders}) ORDER BY s.{self._id}", list(ids))
        return [self._status(row) for row in rows]

    def artifacts_after(self, last_id: int, limit: int) -> list[LegacyArtifact]:
        """The next ``limit`` artifacts by primary key after ``last_id``, each with its status's uuid."""
        rows = self._fetch(f"{self._artifacts}WHERE a.{self._id} > %s ORDER BY a.{self._id} LIMIT %s", [last_id, limit])
        return [self._artifact(row) for row in rows]

    def _fetch(self, sql: str, params: list[Any]) -> Iterable[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def _status(self, row: tuple[Any, ...]) -> LegacyStatus:
        values = dict(zip((*STATUS_COLUMNS, "parent_uuid"), row, strict=True))
        parent_uuid = values["parent_uuid"]
        return LegacyStatus(
            id=int(values["id"]),
            uuid=_uuid(values["uuid"]),
            user_id=values["user_id"],
            task_id=values["task_id"],
            parent_id=values["parent_id"],
            parent_uuid=None if parent_uuid is None else _uuid(parent_uuid),
            is_container=bool(values["is_container"]),
            task_class=values["task_class"],
            name=values["name"],
            state=values["state"],
            completed_steps=int(values["completed_steps"]),
            total_steps=int(values["total_steps"]),
            attempts=int(values["attempts"]),
            created=self._datetime(values["created"]),
            modified=self._datetime(values["modified"]),
        )

    def _artifact(self, row: tuple[Any, ...]) -> LegacyArtifact:
        pk, uid, status_id, name, file, url, text, created, modified, status_uuid = row
        return LegacyArtifact(
            id=int(pk),
            uuid=_uuid(uid),
            status_id=int(status_id),
            status_uuid=_uuid(status_uuid),
            name=name,
            file=file,
            url=url or "",
            text=text or "",
            created=self._datetime(created),
            modified=self._datetime(modified),
        )

    def _datetime(self, value: Any) -> datetime.datetime:
        """As the ORM would read the column: backends without a time zone type (SQLite, MySQL) give
        naive values in the connection's time zone, or a string where no converter applies."""
        if isinstance(value, str):
            value = parse_datetime(value)
        if not isinstance(value, datetime.datetime):
            raise ValueError(f"not a timestamp in django-user-tasks' tables: {value!r}")
        if settings.USE_TZ and timezone.is_naive(value):
            value = timezone.make_aware(value, self.connection.timezone)
        return value


def _uuid(value: Any) -> UUID:
    """A UUID column: a UUID on PostgreSQL, 32 hex digits elsewhere."""
    return value if isinstance(value, UUID) else UUID(str(value))


def _missing_tables_message(alias: str, missing: list[str]) -> str:
    found = f"django-user-tasks' tables are missing from database '{alias}' ({', '.join(missing)})"
    if apps.is_installed("user_tasks"):
        return f"{found}: 'user_tasks' is installed but not migrated here; run `manage.py migrate user_tasks` first."
    return (
        f"{found}, and 'user_tasks' is not in INSTALLED_APPS: nothing to import from this database. "
        "Run the command with DATABASES pointing at the database django-user-tasks wrote to (its tables "
        "stay there after the app is removed)."
    )
