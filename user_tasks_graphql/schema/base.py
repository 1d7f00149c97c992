"""The schema class: the contract's error codes on every error, the abuse limits, and an executor
that shares subscription events' results and keeps no memory per event (``adapters.graphql_core``)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry_django.optimizer import DjangoOptimizerExtension

from ..adapters.graphql_core import executor_class
from .errors import classify
from .limits import limit_extensions


class UserTasksSchema(strawberry.Schema):
    """A ``strawberry.Schema`` whose errors all carry ``extensions.code`` and leak nothing.

    Executes with ``adapters.graphql_core.SharingExecutor`` unless given an
    ``execution_context_class``: derive yours from it, or long-lived subscriptions grow with every
    event they send. With a graphql-core that lacks what that executor relies on, it executes with
    Strawberry's default executor instead (``adapters.graphql_core.executor_class``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["execution_context_class"] = kwargs.get("execution_context_class") or executor_class()
        super().__init__(*args, **kwargs)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            classify(error)


def build_schema(
    query: type, mutation: type | None = None, subscription: type | None = None, **kwargs: Any
) -> UserTasksSchema:
    """Build a schema from your merged root types with our error handling and limits."""
    extensions = [*limit_extensions(), DjangoOptimizerExtension, *kwargs.pop("extensions", [])]
    return UserTasksSchema(query=query, mutation=mutation, subscription=subscription, extensions=extensions, **kwargs)
