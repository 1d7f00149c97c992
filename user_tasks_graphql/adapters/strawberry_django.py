"""Computed fields that strawberry-django resolves on the event loop, not in a thread each.

Why: strawberry-django runs a plain resolver through ``sync_to_async`` when the schema executes
asynchronously (our view and consumer), in case it queries the database: one thread hop per
field and row, which made a page of 100 statuses 1.7 times slower than our hand-written types.
Our computed fields (``stateText``, ``percentComplete``...) read only columns already loaded. A
coroutine resolver would not hop, but a host executing synchronously could not resolve it.
strawberry-django skips the hop for resolvers whose function has ``is_async_safe`` set (what it
does for its own resolvers: ``StrawberryDjangoFieldBase.safe_resolver``), in sync and async
execution alike; ``column_field`` sets it.

Checked against strawberry-graphql-django 0.93 (pinned below 0.94 in pyproject.toml). ``CHECK``
finds out once per process, on a field of a throwaway type, whether the flag is still honoured;
if not it logs one warning: the fields then resolve in a thread each, as any plain resolver,
slower but the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import strawberry_django
from django.contrib.auth.models import Group

from .internals import InternalsCheck

logger = logging.getLogger(__name__)
FLAG = "is_async_safe"


def _probe_resolver(root: Any) -> str:
    return ""


def _probe() -> list[str]:
    setattr(_probe_resolver, FLAG, True)

    @strawberry_django.type(Group, name="UserTasksAsyncSafeProbe")
    class Probe:
        name: str = strawberry_django.field(resolver=_probe_resolver)

    field = Probe.__strawberry_definition__.fields[0]  # type: ignore[attr-defined]
    if field.safe_resolver is not field.base_resolver:
        return [f"StrawberryDjangoField.safe_resolver honouring `{FLAG}`"]
    return []


CHECK = InternalsCheck(
    "strawberry-graphql-django",
    _probe,
    "fields as strawberry-graphql-django 0.93 builds them",
    "computed fields are resolved in a thread each, as plain resolvers (slower, the same results)",
    logger,
)


def column_field(resolver: Callable[..., Any], *, only: list[str], description: str | None = None) -> Any:
    """A field computed from the row's ``only`` columns, resolved without a thread hop."""
    setattr(resolver, FLAG, True)
    CHECK.missing()  # the warning, once, where the flag is no longer honoured
    return strawberry_django.field(resolver=resolver, only=only, description=description)
