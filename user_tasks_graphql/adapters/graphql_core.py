"""graphql-core's executor, made to keep no memory per subscription event and to execute each event
once for all the subscriptions that ask the same thing of it.

Why, memory: graphql-core 3.3 runs each event of a subscription on a shallow copy of the
subscription's executor (``Executor.build_per_event_executor``), so every event shares its memos of
collected subfields and stream usages (``_relevant_sub_fields``, ``_stream_usages``). Their keys are
field lists that ``collect_fields`` builds anew for each event, and each entry keeps its list alive:
nothing hits an entry again, and an open subscription held one more per event it executed until it
ended. The memos serve the items of one list within one execution, so fresh ones per event keep
their benefit.

Why, sharing: graphql-core executes a subscription's selection set once per subscriber for each
event, the same work done once per open tab. ``SharingExecutor.execute_operation`` keeps an event's
result on the event (its ``shared_results``: ``schema.shared_results.SharedResults``) and hands it to
every later subscription sending the same request as the same user.

graphql-core documents ``build_per_event_executor`` and ``execute_operation`` but says the methods
its executor uses internally are not public API, and the memos are private. Checked against
graphql-core 3.3.2 (which still shares the memos between events) with strawberry-graphql 0.341.3;
pinned below 3.4 in pyproject.toml. ``executor_class()`` checks once per process that those parts
are there with the signatures used here; if any is missing it logs one warning naming it and
returns Strawberry's own executor from then on: the schema works as Strawberry's does, without the
sharing, and an open subscription's memory grows with its events again. The executors here consult
the same check, so a project's subclass of them degrades the same way.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Hashable, MutableMapping
from typing import Any, Protocol

from graphql import build_schema, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from .internals import InternalsCheck

logger = logging.getLogger(__name__)
METHODS = {"build_per_event_executor": ("self", "payload"), "execute_operation": ("self", "serially")}
PER_EVENT_MEMOS = ("_relevant_sub_fields", "_stream_usages")  # attributes of each executor


def _probe() -> list[str]:
    """What of the executor's parts this graphql-core lacks, found on an executor of a tiny schema."""
    base = StrawberryGraphQLCoreExecutionContext
    missing = []
    for name, parameters in METHODS.items():
        method = getattr(base, name, None)
        if not callable(method) or tuple(inspect.signature(method).parameters) != parameters:
            missing.append(f"Executor.{name}({', '.join(parameters[1:])})")
    if missing:
        return missing
    try:
        executor = base.build(build_schema("type Query { ok: Boolean }"), parse("{ ok }"))
        event = None if isinstance(executor, list) else executor.build_per_event_executor(None)
    except (AttributeError, TypeError, ValueError):
        event = None
    if event is None:  # a list of errors, or an exception: not built as graphql-core 3.3 builds it
        return ["Executor.build(schema, document)"]
    for name in PER_EVENT_MEMOS:  # mappings that a new empty one can replace
        memo = getattr(event, name, None)
        try:
            fresh = type(memo)() if isinstance(memo, MutableMapping) else None
        except TypeError:
            fresh = None
        if fresh is None:
            missing.append(f"Executor.{name}")
    return missing


CHECK = InternalsCheck(
    "graphql-core",
    _probe,
    "the executor as graphql-core 3.3 builds it",
    "executing with Strawberry's default executor, so subscription events are executed once per "
    "subscription and an open subscription's memory grows with its events",
    logger,
)


def missing_internals() -> tuple[str, ...]:
    """The private parts of graphql-core that the executors here need and do not find (checked once)."""
    return CHECK.missing()


def executor_class() -> type[StrawberryGraphQLCoreExecutionContext]:
    """``SharingExecutor``, or Strawberry's default executor when graphql-core lacks what it needs."""
    return StrawberryGraphQLCoreExecutionContext if missing_internals() else SharingExecutor


class EventScopedExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; a subscription's memory no longer grows with every event it sends."""

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        if not missing_internals():
            for name in PER_EVENT_MEMOS:
                setattr(executor, name, type(getattr(executor, name))())
        return executor


class Shared(Protocol):
    """What an event carries as ``shared_results`` for its result to be shared (the schema's
    ``SharedResults``: this module imports nothing of the schema, which is built with it)."""

    def key_for(self, executor: StrawberryGraphQLCoreExecutionContext) -> Hashable | None: ...
    def get(self, key: Hashable) -> Any: ...
    def keep(self, key: Hashable, result: Any) -> Any: ...


_NOT_YET: Any = object()


class SharingExecutor(EventScopedExecutor):
    """Strawberry's executor, reusing a subscription event's result across identical requests."""

    _request_key: Hashable | None = _NOT_YET

    def build_per_event_executor(self, payload: Any) -> Any:
        """Work the request's key out once per subscription; each event's executor copies it."""
        if self._request_key is _NOT_YET:
            key_for = getattr(getattr(payload, "shared_results", None), "key_for", None)
            if key_for is not None:
                self._request_key = key_for(self)
        return super().build_per_event_executor(payload)

    def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        shared: Shared | None = getattr(self.root_value, "shared_results", None)
        key = self._request_key
        if shared is None or key is None or key is _NOT_YET or missing_internals():
            return super().execute_operation(*args, **kwargs)
        known = shared.get(key)
        if known is not None:
            return known
        result = super().execute_operation(*args, **kwargs)
        if self.is_awaitable(result):
            return _keep_when_done(shared, key, result)
        return shared.keep(key, result)


async def _keep_when_done(shared: Shared, key: Hashable, pending: Awaitable[Any]) -> Any:
    return shared.keep(key, await pending)
