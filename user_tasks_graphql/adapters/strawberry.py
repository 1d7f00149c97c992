"""Strawberry's cached validation, run by graphql-core with ``hide_suggestions``.

Why: without introspection, "Did you mean ...?" in validation errors would spell the schema out
one typo at a time, and graphql-core hides them only when ``validate`` is called with
``hide_suggestions``, which Strawberry never passes. Its ``ValidationCache`` extension validates
through the attribute ``cached_validate_document(schema, document, rules)``, which it hands the
graphql-core schema; ``ValidationWithoutSuggestions`` replaces that attribute with a call of
graphql-core's ``validate`` that hides them, adding the two rules Strawberry's own
``validate_document`` adds (``MaybeNullValidationRule``, ``OneOfInputValidationRule``).

Checked against strawberry-graphql 0.341.3 (pinned below 0.350 in pyproject.toml). The attribute
and the rules' modules are not public API: ``CHECK`` looks for them once per process; if one is
missing it logs one warning, and ``validation_extension`` returns Strawberry's own
``ValidationCache``: validation still runs, with suggestions.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.extensions import SchemaExtension, ValidationCache

from .internals import InternalsCheck

logger = logging.getLogger(__name__)
RULES = {  # Strawberry's own rules: module, class
    "strawberry.schema.validation_rules.maybe_null": "MaybeNullValidationRule",
    "strawberry.schema.validation_rules.one_of": "OneOfInputValidationRule",
}


def _strawberry_rules() -> tuple[type[ASTValidationRule], ...]:
    return tuple(getattr(importlib.import_module(module), name) for module, name in RULES.items())


def _probe() -> list[str]:
    missing = [] if callable(getattr(ValidationCache(), "cached_validate_document", None)) else [
        "ValidationCache.cached_validate_document"
    ]  # fmt: skip
    for module, name in RULES.items():
        try:
            rule = getattr(importlib.import_module(module), name, None)
        except ImportError:
            rule = None
        if not (isinstance(rule, type) and issubclass(rule, ASTValidationRule)):
            missing.append(f"{module}.{name}")
    return missing


CHECK = InternalsCheck(
    "strawberry-graphql",
    _probe,
    "ValidationCache as Strawberry 0.341 builds it",
    "validating with Strawberry's ValidationCache: errors of mistyped documents suggest the schema's names",
    logger,
)


@functools.lru_cache(maxsize=256)
def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate(schema, document, (*rules, *_strawberry_rules()), hide_suggestions=True)


class ValidationWithoutSuggestions(ValidationCache):
    """Strawberry's cached validation, with graphql-core's ``hide_suggestions``."""

    def __init__(self) -> None:
        super().__init__(maxsize=_validate.cache_info().maxsize)
        self.cached_validate_document = _validate


def validation_extension(hide_suggestions: bool, maxsize: int) -> Callable[[], SchemaExtension]:
    """A factory of the cached validation extension: without suggestions where asked and possible."""
    if hide_suggestions and not CHECK.missing():
        return ValidationWithoutSuggestions
    return lambda: ValidationCache(maxsize=maxsize)


__all__ = ["CHECK", "ValidationWithoutSuggestions", "validation_extension"]
