"""Every ``USER_TASKS_*`` setting the app reads, declared once: its default, its validation and its
accessor (documented in docs/settings.md, which a test keeps in step with ``SETTINGS``).

Accessors read the setting at each call, so a changed setting applies from the next read, and raise
``ImproperlyConfigured`` naming the setting for a value the app cannot use. The system check reads
every declared setting the same way, so a bad value fails ``manage.py check`` rather than a worker's
write or a request in production.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import Storage, default_storage, storages
from django.utils.module_loading import import_string

ARTIFACT_STORAGE_ALIAS = "user_task_artifacts"

_UNSET = object()


@dataclass(frozen=True)
class Derived:
    """A default that follows another setting, computed at each read; ``label`` is how
    docs/settings.md writes it."""

    label: str
    compute: Callable[[], Any]


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any  # a value, or a Derived
    validate: Callable[[str, Any], Any]  # (name, configured value) -> the value the app uses
    doc: str

    def read(self) -> Any:
        value = getattr(settings, self.name, _UNSET)
        if value is _UNSET:
            value = self.default.compute() if isinstance(self.default, Derived) else self.default
        return self.validate(self.name, value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _duration(name: str, value: Any) -> timedelta:
    if _is_number(value):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ImproperlyConfigured(f"{name} must be a positive timedelta or number of seconds, not {value!r}")
    return value


def _heartbeat(name: str, value: Any) -> timedelta:
    interval = _duration(name, value)
    if interval * 2 > stale_after():
        raise ImproperlyConfigured(
            f"{name} must be at most half of USER_TASKS_STALE_AFTER, or live tasks would be reaped"
        )
    return interval


def _seconds_or_zero(name: str, value: Any) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if not _is_number(value) or value < 0:
        raise ImproperlyConfigured(f"{name} must be zero or a positive number of seconds, not {value!r}")
    return float(value)


def _seconds(name: str, value: Any) -> float:
    seconds = _seconds_or_zero(name, value)
    if seconds == 0:
        raise ImproperlyConfigured(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ImproperlyConfigured(f"{name} must be a positive integer, not {value!r}")
    return value


def _positive_int_or_none(name: str, value: Any) -> int | None:
    return None if value is None else _positive_int(name, value)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"{name} must be True or False, not {value!r}")
    return value


def _strings(name: str, value: Any) -> list[str]:
    # a bare string is refused: list("https://a.example") would allow each of its characters
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ImproperlyConfigured(f"{name} must be a list of strings, not {value!r}")
    return list(value)


def _import_path(name: str, value: Any) -> Any:
    """None (or empty) for unset, else what the dotted path names, which must be callable."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ImproperlyConfigured(f"{name} must be an import path (a string) or None, not {value!r}")
    try:
        imported = import_string(value)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{name} names {value!r}, which cannot be imported: {exc}") from exc
    if not callable(imported):
        raise ImproperlyConfigured(f"{name} names {value!r}, which is not callable")
    return imported


SETTINGS: dict[str, Setting] = {
    setting.name: setting
    for setting in (
        # retention and storage
        Setting("USER_TASKS_MAX_AGE", timedelta(days=30), _duration,
                "How old a finished status may get before purge_old_user_tasks deletes it."),
        Setting("USER_TASKS_STALE_AFTER", timedelta(minutes=10), _duration,
                "How long a running task may go without progress or heartbeat before the reaper fails it."),
        Setting("USER_TASKS_HEARTBEAT_INTERVAL", timedelta(seconds=30), _heartbeat,
                "How often a worker touches its tasks' statuses; at most half of USER_TASKS_STALE_AFTER."),
        Setting("USER_TASKS_MAX_ACTIVE_PER_USER", 50, _positive_int_or_none,
                "Unfinished tasks one user may have, canvases counting their tasks (None: no limit)."),
        Setting("USER_TASKS_ARTIFACT_STORAGE", None, _import_path,
                "Import path of the artifact storage class, when STORAGES has no 'user_task_artifacts'."),
        # GraphQL API
        Setting("USER_TASKS_GRAPHQL_MAX_PAGE_SIZE", 100, _positive_int,
                "The most first/last may ask for, and the page size when neither is given."),
        Setting("USER_TASKS_GRAPHQL_MAX_DEPTH", 10, _positive_int, "Deepest selection allowed in a document."),
        Setting("USER_TASKS_GRAPHQL_MAX_TOKENS", 2000, _positive_int, "Most tokens in one document."),
        Setting("USER_TASKS_GRAPHQL_MAX_ALIASES", 15, _positive_int, "Most aliases in one document."),
        Setting("USER_TASKS_GRAPHQL_MAX_MUTATIONS", 5, _positive_int, "Most mutation fields in one operation."),
        Setting("USER_TASKS_GRAPHQL_INTROSPECTION", Derived("DEBUG", lambda: settings.DEBUG), _bool,
                "Whether the schema answers introspection (read when the schema is built)."),
        Setting("USER_TASKS_GRAPHIQL", Derived("USER_TASKS_GRAPHQL_INTROSPECTION", lambda: introspection_allowed()),
                _bool, "Whether GET requests from a browser are served GraphiQL."),
        Setting("USER_TASKS_VISIBLE_STATUSES", None, _import_path,
                "Import path of f(user, queryset) -> queryset: extra statuses a user may see."),
        # live updates
        Setting("USER_TASKS_PROGRESS_INTERVAL", 0.2, _seconds_or_zero,
                "Seconds during which a task's increments are summed in memory before one write (0: none)."),
        Setting("USER_TASKS_START_DELAY", 0.1, _seconds_or_zero,
                "Seconds a task runs before In Progress is written, so a quick task ends in one write (0: none)."),
        Setting("USER_TASKS_SYNCHRONOUS_COMMIT", True, _bool,
                "False: a worker's status writes on PostgreSQL commit without waiting for the WAL flush."),
        Setting("USER_TASKS_PUBLISH_TIMEOUT", 1.0, _seconds,
                "The longest one send to the channel layer may take before its events are kept for a retry."),
        Setting("USER_TASKS_PUBLISH_RETRY_AFTER", 2.0, _seconds,
                "After a failed publish, how long events are only kept (newest per task) before the next try."),
        Setting("USER_TASKS_GROUP_REFRESH_INTERVAL", 3600, _seconds,
                "How often a server process renews its channel-layer group memberships, so they never expire."),
        Setting("USER_TASKS_LIVE_CHECK_INTERVAL", 1.0, _seconds,
                "How often a server process probes the channel layer, to notice lost events and catch up."),
        Setting("USER_TASKS_WATERMARK_RETENTION", timedelta(days=1), _duration,
                "How long a list watermark can be resumed from; tombstones are kept an hour longer."),
        Setting("USER_TASKS_WATERMARK_INTERVAL", 30.0, _seconds,
                "How often at most a list subscription that sent changes confirms a newer watermark."),
        Setting("USER_TASKS_WS_MAX_SUBSCRIPTIONS", 20, _positive_int, "Operations per websocket."),
        Setting("USER_TASKS_WS_MAX_CONNECTIONS_PER_USER", 50, _positive_int_or_none,
                "Open websockets one user may hold in one server process (None: no limit)."),
        Setting("USER_TASKS_WS_INIT_TIMEOUT", 10, _seconds, "Seconds a socket may wait before connection_init."),
        Setting("USER_TASKS_WS_MAX_MESSAGE_BYTES", 64 * 1024, _positive_int,
                "Larger websocket messages are refused unparsed: parsing them would hold the event loop."),
        Setting("USER_TASKS_WS_MAX_MESSAGE_DEPTH", 32, _positive_int,
                "Deepest JSON nesting of a websocket message; a deeper one closes the socket (4400)."),
        Setting("USER_TASKS_WS_ALLOWED_ORIGINS", [], _strings, "Extra origins allowed to open the websocket."),
        Setting("USER_TASKS_WS_AUTHENTICATE", None, _import_path,
                "Import path of f(connection_params, scope) -> user or None, run on connection_init."),
    )
}  # fmt: skip


def _read(name: str) -> Any:
    return SETTINGS[name].read()


def _reader(name: str) -> Callable[[], Any]:
    """The accessor of setting ``name``: it reads the setting at each call."""
    setting = SETTINGS[name]

    def read() -> Any:
        return setting.read()

    read.__name__ = read.__qualname__ = name
    read.__doc__ = setting.doc
    return read


max_age: Callable[[], timedelta] = _reader("USER_TASKS_MAX_AGE")
max_active_per_user: Callable[[], int | None] = _reader("USER_TASKS_MAX_ACTIVE_PER_USER")
stale_after: Callable[[], timedelta] = _reader("USER_TASKS_STALE_AFTER")
heartbeat_interval: Callable[[], timedelta] = _reader("USER_TASKS_HEARTBEAT_INTERVAL")


def artifact_storage() -> Storage:
    """``STORAGES['user_task_artifacts']``, else ``USER_TASKS_ARTIFACT_STORAGE``, else the default."""
    if ARTIFACT_STORAGE_ALIAS in getattr(settings, "STORAGES", {}):
        return storages[ARTIFACT_STORAGE_ALIAS]
    storage_class = _read("USER_TASKS_ARTIFACT_STORAGE")
    if storage_class is not None:
        storage: Storage = storage_class()
        return storage
    return default_storage


max_page_size: Callable[[], int] = _reader("USER_TASKS_GRAPHQL_MAX_PAGE_SIZE")
max_depth: Callable[[], int] = _reader("USER_TASKS_GRAPHQL_MAX_DEPTH")
max_tokens: Callable[[], int] = _reader("USER_TASKS_GRAPHQL_MAX_TOKENS")
max_aliases: Callable[[], int] = _reader("USER_TASKS_GRAPHQL_MAX_ALIASES")
max_mutations: Callable[[], int] = _reader("USER_TASKS_GRAPHQL_MAX_MUTATIONS")
introspection_allowed: Callable[[], bool] = _reader("USER_TASKS_GRAPHQL_INTROSPECTION")
graphiql: Callable[[], bool] = _reader("USER_TASKS_GRAPHIQL")
visible_statuses_rule: Callable[[], Callable[[Any, Any], Any] | None] = _reader("USER_TASKS_VISIBLE_STATUSES")
progress_interval: Callable[[], float] = _reader("USER_TASKS_PROGRESS_INTERVAL")
start_delay: Callable[[], float] = _reader("USER_TASKS_START_DELAY")
synchronous_commit: Callable[[], bool] = _reader("USER_TASKS_SYNCHRONOUS_COMMIT")
publish_timeout: Callable[[], float] = _reader("USER_TASKS_PUBLISH_TIMEOUT")
publish_retry_after: Callable[[], float] = _reader("USER_TASKS_PUBLISH_RETRY_AFTER")
group_refresh_interval: Callable[[], float] = _reader("USER_TASKS_GROUP_REFRESH_INTERVAL")
live_check_interval: Callable[[], float] = _reader("USER_TASKS_LIVE_CHECK_INTERVAL")
watermark_retention: Callable[[], timedelta] = _reader("USER_TASKS_WATERMARK_RETENTION")
watermark_interval: Callable[[], float] = _reader("USER_TASKS_WATERMARK_INTERVAL")
ws_max_subscriptions: Callable[[], int] = _reader("USER_TASKS_WS_MAX_SUBSCRIPTIONS")
ws_max_connections_per_user: Callable[[], int | None] = _reader("USER_TASKS_WS_MAX_CONNECTIONS_PER_USER")
ws_init_timeout: Callable[[], float] = _reader("USER_TASKS_WS_INIT_TIMEOUT")
ws_max_message_bytes: Callable[[], int] = _reader("USER_TASKS_WS_MAX_MESSAGE_BYTES")
ws_max_message_depth: Callable[[], int] = _reader("USER_TASKS_WS_MAX_MESSAGE_DEPTH")
ws_allowed_origins: Callable[[], list[str]] = _reader("USER_TASKS_WS_ALLOWED_ORIGINS")
ws_authenticate: Callable[[], Callable[[dict[str, Any], Any], Any] | None] = _reader("USER_TASKS_WS_AUTHENTICATE")
