"""graphql-core's executor, with each subscription event's memo of collected subfields its own.

graphql-core 3.3 runs each event of a subscription on a shallow copy of the subscription's executor
(``Executor.build_per_event_executor``), so every event shares one memo dict
(``_relevant_sub_fields``). Its keys are the identity of a field list that ``collect_fields`` builds
anew for each event, and each entry keeps that list alive: nothing ever hits it again, and an open
subscription held one more entry (about 1.1 KiB) per event it executed until it ended. The memo
serves the items of one list within one execution, so a fresh one per event keeps its benefit.
"""

from __future__ import annotations

from typing import Any

from graphql.pyutils import RefMap
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class EventScopedExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; a subscription's memory no longer grows with every event it sends."""

    def build_per_event_executor(self, payload: Any) -> EventScopedExecutor:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._stream_usages = RefMap()
        return executor  # type: ignore[return-value]
