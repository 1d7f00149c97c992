"""System checks: catch a setup where owners could see their tasks but never act on them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

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
