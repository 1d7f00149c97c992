"""Abuse limits, on by default: query depth, tokens, aliases; introspection only when allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

DEFAULT_MAX_DEPTH = 10
DEFAULT_MAX_TOKENS = 2000
DEFAULT_MAX_ALIASES = 15


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def introspection_allowed() -> bool:
    return bool(_setting("USER_TASKS_GRAPHQL_INTROSPECTION", settings.DEBUG))


def limit_extensions() -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """Factories for each operation's limit extensions; the settings are read per operation."""
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: QueryDepthLimiter(max_depth=int(_setting("USER_TASKS_GRAPHQL_MAX_DEPTH", DEFAULT_MAX_DEPTH))),
        lambda: MaxTokensLimiter(max_token_count=int(_setting("USER_TASKS_GRAPHQL_MAX_TOKENS", DEFAULT_MAX_TOKENS))),
        lambda: MaxAliasesLimiter(max_alias_count=int(_setting("USER_TASKS_GRAPHQL_MAX_ALIASES", DEFAULT_MAX_ALIASES))),
    ]
    if not introspection_allowed():
        extensions.append(DisableIntrospection)
    return extensions
