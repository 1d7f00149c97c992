"""One execution per event and request, shared by every subscription that receives the event.

graphql-core executes a subscription's selection set once per subscriber for each event. With 100
tabs watching one task, that is the same work done 100 times per update, and it was the largest
part of the server's cost per websocket frame. Subscriptions receive the very same event object
from the hub (``live.EventLoader``), which carries a ``SharedResults``; the executor here stores the
result of executing a request on that object and hands it to every later subscription that sends
the same document, operation and variables as the same user. Results with errors are not shared:
each subscription executes those itself, so errors are processed and reported per operation.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Hashable
from typing import Any

from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from .context import session_user_pk
from .event_executor import EventScopedExecutor

RequestKey = tuple[Hashable, ...]


class SharedResults:
    """The execution results of one event, by request (document, operation, variables, viewer)."""

    def __init__(self) -> None:
        self._results: dict[RequestKey, ExecutionResult] = {}

    def get(self, key: RequestKey) -> ExecutionResult | None:
        return self._results.get(key)

    def keep(self, key: RequestKey, result: Any) -> Any:
        if isinstance(result, ExecutionResult) and not result.errors:
            self._results[key] = result
        return result


def request_key(executor: StrawberryGraphQLCoreExecutionContext) -> RequestKey | None:
    """What makes two executions of one event give the same result; None when it cannot be told."""
    location = executor.operation.loc
    viewer = session_user_pk(executor.context_value)
    if location is None or viewer is None:
        return None
    try:
        variables = json.dumps(executor.variable_values.coerced, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return None
    return (location.source.body, location.start, variables, viewer)


_NOT_YET: Any = object()


class SharingExecutor(EventScopedExecutor):
    """Strawberry's executor, reusing a subscription event's result across identical requests."""

    _request_key: RequestKey | None = _NOT_YET

    def build_per_event_executor(self, payload: Any) -> EventScopedExecutor:
        """Work the request's key out once per subscription; each event's executor copies it."""
        if self._request_key is _NOT_YET:
            self._request_key = request_key(self)
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        shared = getattr(self.root_value, "shared_results", None)
        key = self._request_key if isinstance(shared, SharedResults) else None
        if shared is None or key is None or key is _NOT_YET:
            return super().execute_operation(serially)
        known = shared.get(key)
        if known is not None:
            return known
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return _keep_when_done(shared, key, result)
        return shared.keep(key, result)


async def _keep_when_done(shared: SharedResults, key: RequestKey, pending: Awaitable[Any]) -> Any:
    return shared.keep(key, await pending)
