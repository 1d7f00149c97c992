"""Abuse limits, on by default: query depth, tokens, aliases; introspection only when allowed.

Validating a document costs milliseconds, and SPAs send the same few documents over and over (every
tab subscribes with the same text), so validation is cached by document and rules; the limit rules
are built once per limit value, so a cached validation holds until a setting changes. (Parsing is
not cached: Strawberry's ``ParserCache`` lets syntax errors escape its error handling, and a
websocket would then miss its 4400 close.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from graphql import ValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)

from ..core import conf

DOCUMENT_CACHE_SIZE = 256  # distinct documents; bounded so unique texts cannot grow memory


@functools.cache
def _depth_rule(max_depth: int) -> type[ValidationRule]:
    return query_depth_limiter.create_validator(max_depth, None, None)


@functools.cache
def _alias_rule(max_aliases_count: int) -> type[ValidationRule]:
    return max_aliases.create_validator(max_aliases_count)


def _limit_rules() -> AddValidationRules:
    return AddValidationRules([_depth_rule(conf.max_depth()), _alias_rule(conf.max_aliases())])


def limit_extensions() -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """Factories for each operation's limit extensions; the settings are read per operation."""
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        _limit_rules,
        lambda: MaxTokensLimiter(max_token_count=conf.max_tokens()),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
    ]
    if not conf.introspection_allowed():
        extensions.append(DisableIntrospection)
    return extensions
