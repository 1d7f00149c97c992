"""One execution per event and request, shared by every subscription that receives the event.

graphql-core executes a subscription's selection set once per subscriber for each event. With 100
tabs watching one task, that is the same work done 100 times per update, and it was the largest
part of the server's cost per websocket frame. Subscriptions receive the very same event object
from the hub (``live.EventLoader``), which carries a ``SharedResults``; the executor
(``adapters.graphql_core.SharingExecutor``) stores the result of executing a request on that object
and hands it to every later subscription that sends the same document, operation and variables
(``request_key``) as the same user.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from .context import session_user_pk

RequestKey = tuple[Hashable, ...]


class SharedResults:
    """The execution results of one event, by request (document, operation, variables, viewer).

    Results with errors are not kept: each subscription executes those itself, so errors are
    processed and reported per operation."""

    def __init__(self) -> None:
        self._results: dict[RequestKey, ExecutionResult] = {}

    def key_for(self, executor: StrawberryGraphQLCoreExecutionContext) -> RequestKey | None:
        return request_key(executor)

    def get(self, key: RequestKey) -> ExecutionResult | None:
        return self._results.get(key)

    def keep(self, key: RequestKey, result: Any) -> Any:
        if isinstance(result, ExecutionResult) and not result.errors:
            self._results[key] = result
        return result


def request_key(
    executor: StrawberryGraphQLCoreExecutionContext, ignored: frozenset[str] = frozenset()
) -> RequestKey | None:
    """What makes two executions of one event give the same result (but the ``ignored`` variables);
    None when it cannot be told."""
    location = executor.operation.loc
    viewer = session_user_pk(executor.context_value)
    if location is None or viewer is None:
        return None
    coerced = {name: value for name, value in executor.variable_values.coerced.items() if name not in ignored}
    try:
        variables = json.dumps(coerced, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return None
    return (location.source.body, location.start, variables, viewer)
