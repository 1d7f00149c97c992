"""System checks: catch a setup where owners could see their tasks but never act on them, and a
setting the app would refuse only when a worker or server first reads it."""

from __future__ import annotations

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


@register()
def settings_valid(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every declared ``USER_TASKS_*`` setting read as the app reads it: a bad one is an error at
    ``manage.py check`` (and ``runserver``, ``migrate``), not a failed status write in a worker."""
    errors: list[CheckMessage] = []
    for setting in conf.SETTINGS.values():
        try:
            setting.read()
        except ImproperlyConfigured as exc:
            message = str(exc)
            # a setting read through another (a default, a bound) repeats that one's error
            if all(error.msg != message for error in errors):
                errors.append(Error(message, hint=f"{setting.name}: {setting.doc}", id="user_tasks_graphql.E001"))
    return errors
