"""The statements a worker makes around every tracked task (reading its row, writing its start and
its end) as SQL built once.

Built by the ORM each time, they cost a short task more CPU than Celery's own work; here each is
one statement whose SQL is built once per process, and each write returns the row it changed, so
no read follows it and no lookup precedes a start.

PostgreSQL only, outside a transaction (as ``lifecycle.write_returning``): elsewhere each function
returns None and the caller takes the ORM path, which makes the same change.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from . import conf
from .events import FIELDS, event_from_values, events_from_rows, returning_clause
from .states import ACTIVE_STATES, WAITING_STATES, UserTaskState

if TYPE_CHECKING:
    from .models import UserTaskStatus

_ACTIVE = tuple(sorted(ACTIVE_STATES))


def returning_connection(alias: str) -> BaseDatabaseWrapper | None:
    """The connection of ``alias`` if an UPDATE may return its rows as events there: PostgreSQL,
    outside a transaction (whose events wait for the commit)."""
    connection = connections[alias]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    return connection


ASYNC_COMMIT = "SET LOCAL synchronous_commit TO OFF; "


def returning_rows(connection: BaseDatabaseWrapper, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run a write that returns rows, and fetch them.

    With ``USER_TASKS_SYNCHRONOUS_COMMIT = False`` its commit does not wait for PostgreSQL to flush
    the WAL to disk: the setting and the write go in one query string, which PostgreSQL runs as one
    transaction, so the setting ends with it and the connection's other work keeps its own. Only
    with client-side binding (Django's default; a server-side binding cursor takes one statement
    per query) and in autocommit mode.
    """
    with connection.cursor() as cursor:
        if _commits_asynchronously(connection, cursor):
            cursor.execute(ASYNC_COMMIT + sql, params)
            cursor.nextset()
        else:
            cursor.execute(sql, params)
        return cursor.fetchall()


def _commits_asynchronously(connection: BaseDatabaseWrapper, cursor: Any) -> bool:
    if conf.synchronous_commit() or not connection.get_autocommit():
        return False
    try:
        import psycopg
    except ImportError:  # psycopg2
        return False
    return isinstance(cursor.cursor, psycopg.ClientCursor)


def _usable_connection(model: type[UserTaskStatus]) -> BaseDatabaseWrapper | None:
    return returning_connection(router.db_for_write(model))


@functools.cache
def _columns(model: type[UserTaskStatus]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


def _quoted_columns(model: type[UserTaskStatus], alias: str) -> dict[str, str]:
    """Each column's quoted name, by attribute name."""
    quote = connections[alias].ops.quote_name
    return {field.attname: quote(str(field.column)) for field in model._meta.concrete_fields}


def _update_sql(
    model: type[UserTaskStatus], alias: str, changes: str, key: str, states: int, returned: tuple[str, ...]
) -> str:
    """An UPDATE of the row whose ``key`` column matches while its state is one of ``states``
    parameters: ``changes`` (SQL, by quoted column name), ``modified`` and ``seq`` bumped as
    ``lifecycle.write`` does, returning the ``returned`` columns and the parent's uuid."""
    quote = connections[alias].ops.quote_name
    column = _quoted_columns(model, alias)
    placeholders = ", ".join(["%s"] * states)
    return (
        f"UPDATE {quote(model._meta.db_table)} SET {changes.format(**column)}, "
        f"{column['modified']} = %s, {column['seq']} = {column['seq']} + 1 "
        f"WHERE {column[key]} = %s AND {column['state']} IN ({placeholders})"
        f"{returning_clause(quote, returned)}"
    )


@functools.cache
def _start_sql(model: type[UserTaskStatus], alias: str) -> str:
    """In Progress for the waiting row of a task id, returning every column and the parent's uuid
    (a running row, delivered again, begins a new attempt through ``StatusLifecycle.start``)."""
    changes = "{state} = %s, {state_text} = %s"
    return _update_sql(model, alias, changes, "task_id", len(WAITING_STATES), _columns(model))


@functools.cache
def _finish_sql(model: type[UserTaskStatus], alias: str, with_steps: bool) -> str:
    """A final state for an active row by pk; ``with_steps`` also adds steps, filling up to the total."""
    fill = ", {completed_steps} = GREATEST({completed_steps} + %s, {total_steps})" if with_steps else ""
    return _update_sql(model, alias, "{state} = %s" + fill, "id", len(_ACTIVE), FIELDS)


@functools.cache
def _add_steps_sql(model: type[UserTaskStatus], alias: str, field: str) -> str:
    """``field`` plus steps on a row and its ancestors, while that row is active in a given attempt
    (as ``StatusLifecycle._add_steps`` does), returning each changed row."""
    quote = connections[alias].ops.quote_name
    column = _quoted_columns(model, alias)
    table = quote(model._meta.db_table)
    active = ", ".join(["%s"] * len(_ACTIVE))
    return (
        f"UPDATE {table} SET {column[field]} = {column[field]} + %s, {column['modified']} = %s, "
        f"{column['seq']} = {column['seq']} + 1 WHERE {column['id']} = ANY(%s) AND EXISTS (SELECT 1 FROM {table} own "
        f"WHERE own.{column['id']} = %s AND own.{column['attempts']} = %s AND own.{column['state']} IN ({active}))"
        f"{returning_clause(quote)}"
    )


@functools.cache
def _find_sql(model: type[UserTaskStatus], alias: str) -> str:
    """Every column of the row of a task id."""
    column = _quoted_columns(model, alias)
    quote = connections[alias].ops.quote_name
    return (
        f"SELECT {', '.join(column[name] for name in _columns(model))} FROM {quote(model._meta.db_table)} "
        f"WHERE {column['task_id']} = %s"
    )


def find_by_task_id(model: type[UserTaskStatus], task_id: str) -> UserTaskStatus | None:
    """The status of ``task_id``; None where this path does not apply or no row matched (the
    caller reads it the ORM way, or creates it)."""
    connection = _usable_connection(model)
    if connection is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_find_sql(model, connection.alias), [task_id])
        row = cursor.fetchone()
    return None if row is None else model.from_db(connection.alias, list(_columns(model)), row)


def start_by_task_id(model: type[UserTaskStatus], task_id: str) -> tuple[UserTaskStatus, dict[str, Any]] | None:
    """Start the waiting status of ``task_id``: the row as a model instance and its event.

    None when this path does not apply or no waiting row matched (missing, running already, or
    finished, such as canceled before it started): the caller finds the row and starts it the ORM way.
    """
    connection = _usable_connection(model)
    if connection is None:
        return None
    params: list[Any] = [UserTaskState.IN_PROGRESS, "", timezone.now(), task_id, *WAITING_STATES]
    rows = returning_rows(connection, _start_sql(model, connection.alias), params)
    if not rows:
        return None
    row = rows[0]
    columns = _columns(model)
    status = model.from_db(connection.alias, list(columns), row[: len(columns)])
    values = dict(zip(columns, row, strict=False))
    event = event_from_values({**{name: values[name] for name in FIELDS}, "parent_uuid": row[-1]})
    return status, event


def finish(model: type[UserTaskStatus], pk: int, state: str, add_steps: int | None) -> list[dict[str, Any]] | None:
    """Move row ``pk`` from an active to a final ``state``: its event, or [] if it had finished.

    None when this path does not apply (the caller writes with the ORM).
    """
    connection = _usable_connection(model)
    if connection is None:
        return None
    steps = () if add_steps is None else (add_steps,)
    params: list[Any] = [state, *steps, timezone.now(), pk, *_ACTIVE]
    return events_from_rows(
        returning_rows(connection, _finish_sql(model, connection.alias, add_steps is not None), params)
    )


def add_steps(
    model: type[UserTaskStatus], field: str, steps: int, pk: int, ancestors: list[int], attempts: int
) -> list[dict[str, Any]] | None:
    """Add ``steps`` to ``field`` of row ``pk`` and its ``ancestors`` while that row is active in
    attempt ``attempts``: the events of the changed rows. None when this path does not apply."""
    connection = _usable_connection(model)
    if connection is None:
        return None
    params: list[Any] = [steps, timezone.now(), [pk, *ancestors], pk, attempts, *_ACTIVE]
    return events_from_rows(returning_rows(connection, _add_steps_sql(model, connection.alias, field), params))
