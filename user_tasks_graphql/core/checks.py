"""System checks: catch a setup where owners could see their tasks but never act on them, and a
setting the app would refuse only when a worker or server first reads it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from . import conf

OWNER_BACKEND = "user_tasks_graphql.permissions.OwnerPermissionBackend"


@register(Tags.security)
def owner_backend_configured(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if OWNER_BACKEND in settings.AUTHENTICATION_BACKENDS:
        return []
    return [
        Warning(
            f"{OWNER_BACKEND} is not in AUTHENTICATION_BACKENDS.",
            hint="Without it (or another backend granting user_tasks_graphql permissions) owners see their "
            "tasks but get FORBIDDEN when they cancel or delete them. Silence this check if that is intended.",
            id="user_tasks_graphql.W001",
        )
    ]


_SETTINGS: tuple[Callable[[], Any], ...] = (
    conf.max_age, conf.stale_after, conf.heartbeat_interval, conf.progress_interval, conf.start_delay,
    conf.synchronous_commit, conf.publish_timeout, conf.publish_retry_after, conf.group_refresh_interval,
    conf.live_check_interval,
)  # fmt: skip


@register()
def settings_valid(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Each ``USER_TASKS_*`` value read as the app reads it: a bad one is an error at ``manage.py
    check`` (and ``runserver``, ``migrate``), not a failed status write in a worker."""
    errors: list[CheckMessage] = []
    for read in _SETTINGS:
        try:
            read()
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id="user_tasks_graphql.E001"))
    return errors
