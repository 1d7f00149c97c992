"""The schema class: the contract's error codes on every error, and the abuse limits."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from .errors import classify
from .limits import limit_extensions
from .shared_results import SharingExecutor


class UserTasksSchema(strawberry.Schema):
    """A ``strawberry.Schema`` whose errors all carry ``extensions.code`` and leak nothing."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            classify(error)


def build_schema(
    query: type, mutation: type | None = None, subscription: type | None = None, **kwargs: Any
) -> UserTasksSchema:
    """Build a schema from your merged root types with our error handling and limits."""
    extensions = [*limit_extensions(), *kwargs.pop("extensions", [])]
    kwargs.setdefault("execution_context_class", SharingExecutor)
    return UserTasksSchema(query=query, mutation=mutation, subscription=subscription, extensions=extensions, **kwargs)
