"""The schema class: the contract's error codes on every error, the abuse limits, and an executor
that shares subscription events' results and keeps no memory per event."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from .errors import classify
from .limits import limit_extensions
from .shared_results import SharingExecutor


class UserTasksSchema(strawberry.Schema):
    """A ``strawberry.Schema`` whose errors all carry ``extensions.code`` and leak nothing.

    Executes with ``SharingExecutor`` unless given an ``execution_context_class``: derive yours from
    it, or long-lived subscriptions grow with every event they send (``event_executor.py``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["execution_context_class"] = kwargs.get("execution_context_class") or SharingExecutor
        super().__init__(*args, **kwargs)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            classify(error)


def build_schema(
    query: type, mutation: type | None = None, subscription: type | None = None, **kwargs: Any
) -> UserTasksSchema:
    """Build a schema from your merged root types with our error handling and limits."""
    extensions = [*limit_extensions(), *kwargs.pop("extensions", [])]
    return UserTasksSchema(query=query, mutation=mutation, subscription=subscription, extensions=extensions, **kwargs)
