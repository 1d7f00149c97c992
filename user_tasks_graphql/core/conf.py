"""Every setting the app reads, with its default, in one place (documented in docs/settings.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import Storage, default_storage, storages
from django.utils.module_loading import import_string

ARTIFACT_STORAGE_ALIAS = "user_task_artifacts"

DEFAULTS: dict[str, Any] = {
    "USER_TASKS_MAX_AGE": timedelta(days=30),
    "USER_TASKS_ARTIFACT_STORAGE": None,
    "USER_TASKS_STALE_AFTER": timedelta(minutes=10),
    "USER_TASKS_HEARTBEAT_INTERVAL": timedelta(seconds=30),
    "USER_TASKS_PROGRESS_INTERVAL": 0.2,
    "USER_TASKS_PUBLISH_TIMEOUT": 1.0,
    "USER_TASKS_START_DELAY": 0.1,
    "USER_TASKS_SYNCHRONOUS_COMMIT": True,
    "USER_TASKS_PUBLISH_RETRY_AFTER": 2.0,
    "USER_TASKS_LIVE_CHECK_INTERVAL": 1.0,
    "USER_TASKS_GROUP_REFRESH_INTERVAL": 3600.0,
}


def _duration(name: str) -> timedelta:
    value = getattr(settings, name, DEFAULTS[name])
    if isinstance(value, int | float):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ImproperlyConfigured(f"{name} must be a positive timedelta or number of seconds, not {value!r}")
    return value


def max_age() -> timedelta:
    """How old a finished status may get before ``purge_old_user_tasks`` deletes it."""
    return _duration("USER_TASKS_MAX_AGE")


def stale_after() -> timedelta:
    """How long a running task may go without progress or heartbeat before the reaper fails it."""
    return _duration("USER_TASKS_STALE_AFTER")


def heartbeat_interval() -> timedelta:
    """How often a worker process touches the statuses of the tasks it is running."""
    interval = _duration("USER_TASKS_HEARTBEAT_INTERVAL")
    if interval * 2 > stale_after():
        raise ImproperlyConfigured(
            "USER_TASKS_HEARTBEAT_INTERVAL must be at most half of USER_TASKS_STALE_AFTER, "
            "or live tasks would be reaped"
        )
    return interval


def _seconds(name: str, allow_zero: bool = False) -> float:
    value = getattr(settings, name, DEFAULTS[name])
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if not isinstance(value, int | float) or value < 0 or (value == 0 and not allow_zero):
        raise ImproperlyConfigured(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def progress_interval() -> float:
    """Seconds during which a task's increments are summed in memory before one write (0: none)."""
    return _seconds("USER_TASKS_PROGRESS_INTERVAL", allow_zero=True)


def start_delay() -> float:
    """Seconds a task runs in a worker before In Progress is written (0: at once). A task that ends
    sooner goes from Pending to its result in one write, and clients get no state they would see
    for a few milliseconds; any other change of the task writes the start first."""
    return _seconds("USER_TASKS_START_DELAY", allow_zero=True)


def synchronous_commit() -> bool:
    """False: status writes made outside a transaction on PostgreSQL (the worker's) return before
    their WAL reaches disk. A worker crash loses nothing; a database crash can lose the last
    fraction of a second of them."""
    value = getattr(settings, "USER_TASKS_SYNCHRONOUS_COMMIT", DEFAULTS["USER_TASKS_SYNCHRONOUS_COMMIT"])
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"USER_TASKS_SYNCHRONOUS_COMMIT must be True or False, not {value!r}")
    return value


def publish_timeout() -> float:
    """The longest one send to the channel layer may take before its events are kept for a retry."""
    return _seconds("USER_TASKS_PUBLISH_TIMEOUT")


def publish_retry_after() -> float:
    """After a failed publish, how long events are only kept (newest per task) before trying again."""
    return _seconds("USER_TASKS_PUBLISH_RETRY_AFTER")


def group_refresh_interval() -> float:
    """How often a server process renews its channel-layer group memberships."""
    return _seconds("USER_TASKS_GROUP_REFRESH_INTERVAL")


def live_check_interval() -> float:
    """How often a server process sends itself a probe through the channel layer: a probe that does
    not come back means events may have been lost, and subscriptions are caught up once it does."""
    return _seconds("USER_TASKS_LIVE_CHECK_INTERVAL")


def artifact_storage() -> Storage:
    """``STORAGES['user_task_artifacts']``, else ``USER_TASKS_ARTIFACT_STORAGE``, else the default."""
    if ARTIFACT_STORAGE_ALIAS in getattr(settings, "STORAGES", {}):
        return storages[ARTIFACT_STORAGE_ALIAS]
    import_path = getattr(settings, "USER_TASKS_ARTIFACT_STORAGE", None)
    if import_path:
        storage: Storage = import_string(import_path)()
        return storage
    return default_storage
