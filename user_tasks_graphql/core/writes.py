"""The one way status rows change: every UPDATE of the table is made here.

Each change bumps ``modified`` and ``seq`` (so readers order events by ``seq``). The statements the
state machine makes outside a transaction on PostgreSQL are built once per process and return the
rows they changed as events (``UPDATE ... RETURNING``), so no read follows them; elsewhere (another
database, or inside a transaction, whose events wait for the commit) the same change is made with
the ORM and the caller reads the rows it needs (``Written.events`` is then empty).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, Exists, F, Model, QuerySet, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from . import conf
from .events import FIELDS, event_from_values, events_from_rows, returning_clause
from .states import ACTIVE_STATES, WAITING_STATES, UserTaskState

_ACTIVE = tuple(sorted(ACTIVE_STATES))
ASYNC_COMMIT = "SET LOCAL synchronous_commit TO OFF; "


class Written(NamedTuple):
    changed: int
    events: list[dict[str, Any]]
    """The changed rows as events where the UPDATE returned them, else empty (read them)."""


def update(rows: QuerySet[Any], at: Any = None, **changes: Any) -> int:
    """An ORM UPDATE with ``modified`` (``at``, or now) and ``seq`` bumped: how many rows changed."""
    return int(rows.update(**changes, modified=at or timezone.now(), seq=F("seq") + 1))


def keep_alive(model: type[Model], pks: Sequence[int]) -> int:
    """Touch ``modified`` of running rows (the worker's heartbeat): no event, so ``seq`` stays."""
    rows = model._default_manager.filter(pk__in=pks, state=UserTaskState.IN_PROGRESS)
    return int(rows.update(modified=timezone.now()))


# ---- statements built once -----------------------------------------------------------------------


def returning_connection(alias: str) -> BaseDatabaseWrapper | None:
    """The connection of ``alias`` if an UPDATE may return its rows as events there: PostgreSQL,
    outside a transaction."""
    connection = connections[alias]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    return connection


def _usable_connection(model: type[Model]) -> BaseDatabaseWrapper | None:
    return returning_connection(router.db_for_write(model))


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
        import psycopg  # optional: psycopg2 sends one statement per query
    except ImportError:
        return False
    return isinstance(cursor.cursor, psycopg.ClientCursor)


@functools.cache
def _columns(model: type[Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


@functools.cache
def _quoted(model: type[Model], alias: str) -> dict[str, str]:
    """Each column's quoted name, by attribute name."""
    quote = connections[alias].ops.quote_name
    return {field.attname: quote(str(field.column)) for field in model._meta.concrete_fields}


def _in(count: int) -> str:
    return "(" + ", ".join(["%s"] * count) + ")"


_WAITING_IN, _ACTIVE_IN = _in(len(WAITING_STATES)), _in(len(_ACTIVE))
_STATEMENTS = {  # name: (SET changes, WHERE condition), by quoted column name
    "start_task": ("{state} = %s, {state_text} = %s, {started} = %s", "{task_id} = %s AND {state} IN " + _WAITING_IN),
    "start": ("{state} = %s, {state_text} = %s, {started} = %s", "{id} = ANY(%s) AND {state} IN " + _WAITING_IN),
    "finish": ("{state} = %s, {finished} = %s", "{id} = %s AND {state} IN " + _ACTIVE_IN),
    "finish_filled": (
        "{state} = %s, {finished} = %s, {started} = COALESCE({started}, %s), "
        "{completed_steps} = GREATEST({completed_steps} + %s, {total_steps})",
        "{id} = %s AND {state} IN " + _ACTIVE_IN,
    ),
    "rename": ("{name} = %s", "{id} = ANY(%s)"),
    "show_text": (
        "{state_text} = %s, {state} = CASE WHEN {state} IN " + _WAITING_IN + " THEN %s ELSE {state} END, "
        "{started} = CASE WHEN {state} IN " + _WAITING_IN + " THEN %s ELSE {started} END",
        "{id} = ANY(%s) AND {state} IN " + _ACTIVE_IN,
    ),
    "add_completed_steps": ("{completed_steps} = {completed_steps} + %s", "{id} = ANY(%s) AND EXISTS ({own})"),
    "add_total_steps": ("{total_steps} = {total_steps} + %s", "{id} = ANY(%s) AND EXISTS ({own})"),
}


@functools.cache
def _sql(model: type[Model], alias: str, name: str) -> str:
    """Statement ``name``: its changes, ``modified`` and ``seq`` bumped, returning the event's
    columns (every column for ``start_task``) and the parent's uuid. Its parameters: the changes',
    the time, the condition's."""
    quote = connections[alias].ops.quote_name
    column = _quoted(model, alias)
    table = quote(model._meta.db_table)
    own = (  # the row whose attempt adds steps is active in that attempt
        f"SELECT 1 FROM {table} own WHERE own.{column['id']} = %s AND own.{column['attempts']} = %s "
        f"AND own.{column['state']} IN {_ACTIVE_IN}"
    )
    changes, where = _STATEMENTS[name]
    returned = _columns(model) if name == "start_task" else FIELDS
    return (
        f"UPDATE {table} SET {changes.format(**column)}, {column['modified']} = %s, "
        f"{column['seq']} = {column['seq']} + 1 WHERE {where.format(**column, own=own)}"
        f"{returning_clause(model, quote, returned)}"
    )


def _returning(model: type[Model], name: str, changes: list[Any], where: list[Any], now: Any = None) -> Written | None:
    """Statement ``name``'s changed rows as events; None where it does not apply."""
    connection = _usable_connection(model)
    if connection is None:
        return None
    events = events_from_rows(returning_rows(connection, _sql(model, connection.alias, name), [
        *changes, now or timezone.now(), *where,
    ]))  # fmt: skip
    return Written(len(events), events)


def _orm(rows: QuerySet[Any], at: Any = None, **changes: Any) -> Written:
    return Written(update(rows, at, **changes), [])


# ---- the state machine's changes -----------------------------------------------------------------


@functools.cache
def _find_sql(model: type[Model], alias: str) -> str:
    """Every column of the row of a task id."""
    quote = connections[alias].ops.quote_name
    column = _quoted(model, alias)
    names = ", ".join(column[name] for name in _columns(model))
    return f"SELECT {names} FROM {quote(model._meta.db_table)} WHERE {column['task_id']} = %s"


def find_by_task_id(model: type[Model], task_id: str) -> Any:
    """The row of Celery task ``task_id`` read with SQL built once; None where that does not
    apply or no row matched (the caller reads it the ORM way, or creates it)."""
    connection = _usable_connection(model)
    if connection is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_find_sql(model, connection.alias), [task_id])
        row = cursor.fetchone()
    return None if row is None else model.from_db(connection.alias, list(_columns(model)), row)


def start_by_task_id(model: type[Model], task_id: str) -> tuple[Any, dict[str, Any]] | None:
    """Start the waiting row of ``task_id`` in one statement: the row as an instance and its event.

    None when this path does not apply or no waiting row matched (missing, running already, or
    finished): the caller finds the row and starts it through ``start``.
    """
    connection = _usable_connection(model)
    if connection is None:
        return None
    now = timezone.now()
    params: list[Any] = [UserTaskState.IN_PROGRESS, "", now, now, task_id, *WAITING_STATES]
    rows = returning_rows(connection, _sql(model, connection.alias, "start_task"), params)
    if not rows:
        return None
    row, columns = rows[0], _columns(model)
    status = model.from_db(connection.alias, list(columns), row[: len(columns)])
    values = dict(zip(columns, row, strict=False))
    return status, event_from_values({**{name: values[name] for name in FIELDS}, "parent_uuid": row[-1]})


def start(model: type[Model], pks: Iterable[int]) -> Written:
    """Waiting rows (Pending, Retrying) among ``pks`` go In Progress, ``started`` now."""
    pks, now = list(pks), timezone.now()
    in_progress: list[Any] = [UserTaskState.IN_PROGRESS, "", now]
    written = _returning(model, "start", in_progress, [pks, *WAITING_STATES], now)
    if written is not None:
        return written
    rows = model._default_manager.filter(pk__in=pks, state__in=WAITING_STATES)
    return _orm(rows, now, state=UserTaskState.IN_PROGRESS, state_text="", started=now)


def finish(model: type[Model], pk: int, state: str, add_steps: int | None = None) -> Written:
    """Row ``pk`` from an active to a final ``state`` (``changed`` 0: it had finished); ``add_steps`` (a
    success) also adds those steps, filling the row up to its total."""
    filled, now = add_steps is not None, timezone.now()
    changes = [state, now, now, add_steps] if filled else [state, now]
    written = _returning(model, "finish_filled" if filled else "finish", changes, [pk, *_ACTIVE], now)
    if written is not None:
        return written
    rows = model._default_manager.filter(pk=pk, state__in=ACTIVE_STATES)
    if filled:  # a success also ran: one that was never written In Progress started as it ended
        filling = Greatest(F("completed_steps") + add_steps, F("total_steps"))
        return _orm(
            rows, state=state, finished=now, started=Coalesce(F("started"), Value(now)), completed_steps=filling
        )
    return _orm(rows, state=state, finished=now)


def add_steps(model: type[Model], field: str, steps: int, pk: int, ancestors: list[int], attempts: int) -> Written:
    """Add ``steps`` to ``field`` (completed or total) of row ``pk`` and its ``ancestors``, only while
    that row is active in attempt ``attempts``."""
    ids = [pk, *ancestors]
    written = _returning(model, f"add_{field}", [steps], [ids, pk, attempts, *_ACTIVE])
    if written is not None:
        return written
    manager = model._default_manager
    current = manager.filter(pk=pk, attempts=attempts, state__in=ACTIVE_STATES)
    return _orm(manager.filter(Exists(current), pk__in=ids), **{field: F(field) + steps})


def rename(model: type[Model], pks: list[int], name: str) -> Written:
    written = _returning(model, "rename", [name], [pks])
    return written if written is not None else _orm(model._default_manager.filter(pk__in=pks), name=name)


def show_text(model: type[Model], pks: list[int], text: str) -> Written:
    """Progress text on the active rows among ``pks``; a waiting one goes In Progress with it."""
    now = timezone.now()
    changes = [text, *WAITING_STATES, UserTaskState.IN_PROGRESS, *WAITING_STATES, now]
    written = _returning(model, "show_text", changes, [pks, *_ACTIVE], now)
    if written is not None:
        return written
    rows = model._default_manager.filter(pk__in=pks, state__in=ACTIVE_STATES)
    running = Case(When(state__in=WAITING_STATES, then=Value(UserTaskState.IN_PROGRESS)), default=F("state"))
    since = Case(When(state__in=WAITING_STATES, then=Value(now)), default=F("started"))
    return _orm(rows, now, state_text=text, state=running, started=since)
