"""One execution per live list change and request, shared by every list subscription that receives
it, as the other subscriptions' events are (``shared_results.py``).

Each subscription's messages carry its own watermark, so a result is kept with a placeholder in
its place and each subscription gets a copy carrying its own. The variable given as ``since`` is
left out of the request's key: it shapes the replay, never a live message (a tab that resumed
from another watermark shares with one that did not).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import ExecutionResult, FieldNode, VariableNode
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from .shared_results import RequestKey, SharedResults, request_key

PLACEHOLDER = "\x00watermark"
REMEMBERED_EVENTS = 512


class MarkedResults:
    """The shared results of one change as one subscription sees them: with its watermark."""

    def __init__(self, shared: SharedResults, mark: str) -> None:
        self._shared = shared
        self._mark = mark

    def key_for(self, executor: StrawberryGraphQLCoreExecutionContext) -> RequestKey | None:
        return request_key(executor, ignored=_since_variables(executor))

    def get(self, key: RequestKey) -> ExecutionResult | None:
        kept = self._shared.get(key)
        return None if kept is None else _marked(kept, PLACEHOLDER, self._mark)

    def keep(self, key: RequestKey, result: Any) -> Any:
        if isinstance(result, ExecutionResult) and not result.errors:
            self._shared.keep(key, _marked(result, self._mark, PLACEHOLDER))
        return result


def _since_variables(executor: StrawberryGraphQLCoreExecutionContext) -> frozenset[str]:
    """The variable the operation passes as the root field's ``since``, if any."""
    names = set()
    for selection in executor.operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            for argument in selection.arguments or ():
                if argument.name.value == "since" and isinstance(argument.value, VariableNode):
                    names.add(argument.value.name.value)
    return frozenset(names)


def _marked(result: ExecutionResult, old: str, new: str) -> ExecutionResult:
    """``result`` with the root field's watermark (whatever its alias) ``new`` instead of ``old``."""
    data = {
        key: {name: new if value == old else value for name, value in message.items()}
        if isinstance(message, dict)
        else message
        for key, message in (result.data or {}).items()
    }
    return ExecutionResult(data=data, errors=result.errors, extensions=result.extensions)


class ChangeResults:
    """Per process: one ``SharedResults`` per live change (status and ``seq``), however many list
    subscriptions receive it."""

    def __init__(self, size: int = REMEMBERED_EVENTS) -> None:
        self._results: OrderedDict[tuple[str, int], SharedResults] = OrderedDict()
        self._size = size

    def marked(self, event: dict[str, Any], mark: str) -> MarkedResults:
        key = (event["uuid"], event["seq"])
        shared = self._results.get(key)
        if shared is None:
            shared = self._results[key] = SharedResults()
            while len(self._results) > self._size:
                self._results.popitem(last=False)
        return MarkedResults(shared, mark)


change_results = ChangeResults()
