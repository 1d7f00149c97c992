"""Abuse limits, on by default: query depth, tokens, aliases; introspection only when allowed, and
without introspection no "Did you mean ...?" suggestions either, which would spell the schema out
one typo at a time.

Validating a document costs milliseconds, and SPAs send the same few documents over and over (every
tab subscribes with the same text), so validation is cached by document and rules; the limit rules
are built once per limit value, so a cached validation holds until a setting changes. (Parsing is
not cached: Strawberry's ``ParserCache`` lets syntax errors escape its error handling, and a
websocket would then miss its 4400 close.)

Suggestions are graphql-core's to hide (its ``hide_suggestions`` flag), in two places: validation
(unknown fields, arguments, types, enum values in the document) and execution (variables that do
not fit their types). Strawberry passes neither, so validation runs through
``adapters.strawberry.ValidationWithoutSuggestions`` and execution through
``executor_without_suggestions``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
    max_aliases,
    query_depth_limiter,
)

from ..adapters.strawberry import validation_extension
from ..core import conf
from .input_checks import RefuseUnstorableStrings

DOCUMENT_CACHE_SIZE = 256  # distinct documents; bounded so unique texts cannot grow memory

Executor = TypeVar("Executor")
_WITHOUT_SUGGESTIONS: dict[type, type] = {}


@functools.cache
def _depth_rule(max_depth: int) -> type[ValidationRule]:
    return query_depth_limiter.create_validator(max_depth, None, None)


@functools.cache
def _alias_rule(max_aliases_count: int) -> type[ValidationRule]:
    return max_aliases.create_validator(max_aliases_count)


@functools.cache
def _mutations_rule(limit: int) -> type[ValidationRule]:
    class MaxMutations(ValidationRule):
        """At most ``limit`` fields in a mutation operation: each may start tasks."""

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            if node.operation != OperationType.MUTATION:
                return
            count = _root_fields(self.context, node.selection_set, set())
            if count > limit:
                self.report_error(GraphQLError(f"At most {limit} mutations per request ({count} asked).", node))

    return MaxMutations


def _root_fields(context: Any, selection_set: SelectionSetNode, seen: set[str]) -> int:
    """Fields of a selection set, counting through fragments (each named fragment once)."""
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 1
        elif isinstance(selection, InlineFragmentNode):
            count += _root_fields(context, selection.selection_set, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = context.get_fragment(selection.name.value)
            count += _root_fields(context, fragment.selection_set, seen) if fragment else 0
    return count


def _limit_rules() -> AddValidationRules:
    return AddValidationRules(
        [_depth_rule(conf.max_depth()), _alias_rule(conf.max_aliases()), _mutations_rule(conf.max_mutations())]
    )


def suggestions_hidden() -> bool:
    """No suggestions where there is no introspection (read when the schema is built, as it is)."""
    return not conf.introspection_allowed()


class _NoSuggestions:
    """Mixed in before an executor class: graphql-core builds it with ``hide_suggestions``."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)  # type: ignore[misc]


def executor_without_suggestions(executor: type[Executor]) -> type[Executor]:
    """``executor`` building every execution with graphql-core's ``hide_suggestions``: a variable
    that does not fit its input type is refused without naming the fields or values that would.
    One class per executor, so schemas built alike execute with the same class."""
    if executor not in _WITHOUT_SUGGESTIONS:
        name = f"{executor.__name__}WithoutSuggestions"
        _WITHOUT_SUGGESTIONS[executor] = type(name, (_NoSuggestions, executor), {"__doc__": executor.__doc__})
    return _WITHOUT_SUGGESTIONS[executor]


def limit_extensions() -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """Factories for each operation's limit extensions; the settings are read per operation. With
    them runs the refusal of strings no column can hold (``input_checks``)."""
    validation = validation_extension(suggestions_hidden(), DOCUMENT_CACHE_SIZE)
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        _limit_rules,
        lambda: MaxTokensLimiter(max_token_count=conf.max_tokens()),
        validation,
        RefuseUnstorableStrings,
    ]
    if not conf.introspection_allowed():
        extensions.append(DisableIntrospection)
    return extensions
