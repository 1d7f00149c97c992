"""The schema class: the contract's error codes on every error, the abuse limits, and an executor
that shares subscription events' results and keeps no memory per event (``adapters.graphql_core``)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from ..adapters.graphql_core import executor_class
from .errors import classify
from .limits import executor_without_suggestions, limit_extensions, suggestions_hidden

ONE_RESULT = frozenset({OperationType.QUERY, OperationType.MUTATION})


class UserTasksSchema(strawberry.Schema):
    """A ``strawberry.Schema`` whose errors all carry ``extensions.code`` and leak nothing.

    Executes with ``adapters.graphql_core.SharingExecutor`` unless given an
    ``execution_context_class``: derive yours from it, or long-lived subscriptions grow with every
    event they send. With a graphql-core that lacks what that executor relies on, it executes with
    Strawberry's default executor instead (``adapters.graphql_core.executor_class``).

    ``execute`` runs queries and mutations only: a subscription is a stream, which one result
    cannot carry (run once, its resolver's generator failed as an internal error). It raises
    Strawberry's ``InvalidOperationTypeError`` for it, which HTTP views answer with a 400;
    subscriptions are served by ``subscribe`` (the websocket)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["execution_context_class"] = kwargs.get("execution_context_class") or executor_class()
        super().__init__(*args, **kwargs)

    async def execute(self, query: str | None, **kwargs: Any) -> ExecutionResult:  # type: ignore[override]
        return await super().execute(query, **_one_result(kwargs))

    def execute_sync(self, query: str | None, **kwargs: Any) -> ExecutionResult:  # type: ignore[override]
        return super().execute_sync(query, **_one_result(kwargs))

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            classify(error)


def _one_result(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's other arguments (by keyword, as Strawberry's views pass them), allowing only the
    operation types that give one result."""
    asked = kwargs.get("allowed_operation_types") or ONE_RESULT
    return {**kwargs, "allowed_operation_types": ONE_RESULT.intersection(asked)}


def build_schema(
    query: type, mutation: type | None = None, subscription: type | None = None, **kwargs: Any
) -> UserTasksSchema:
    """Build a schema from your merged root types with our error handling and limits."""
    extensions = [*limit_extensions(), *kwargs.pop("extensions", [])]
    if suggestions_hidden():
        executor = kwargs.get("execution_context_class") or executor_class()
        kwargs["execution_context_class"] = executor_without_suggestions(executor)
    return UserTasksSchema(query=query, mutation=mutation, subscription=subscription, extensions=extensions, **kwargs)
