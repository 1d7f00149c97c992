"""An open subscription holds no memory per event it sends (bench/RESULTS.md, "Slow consumer")."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry

from example_site.demo.schema import schema as demo_schema
from tests.unit.adapters.checks import Query, Tick
from user_tasks_graphql.adapters.graphql_core import EventScopedExecutor
from user_tasks_graphql.schema import build_schema
from user_tasks_graphql.schema import schema as library_schema

EVENTS = 1000


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[Tick, None]:
        number = 0
        while True:
            number += 1
            yield Tick(number=number, label=f"tick {number}")


async def test_memory_of_an_open_subscription_does_not_grow_with_its_events():
    schema = build_schema(query=Query, subscription=Subscription)
    stream = await schema.subscribe("subscription { ticks { number label } }")
    assert not hasattr(stream, "errors"), stream
    async with aclosing(stream):
        tracemalloc.start()
        try:
            for _ in range(20):  # warm up: caches that are filled once
                await anext(stream)
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(EVENTS):
                result = await anext(stream)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert result.data == {"ticks": {"number": 20 + EVENTS, "label": f"tick {20 + EVENTS}"}}
    # graphql-core's shared memo kept ~0.8 KiB per event here (~800 KiB); now a few KiB in all
    assert grown < 64 * 1024, f"{grown / EVENTS:.0f} bytes kept per event"


def test_every_shipped_schema_executes_with_the_event_scoped_executor():
    for schema in (library_schema, demo_schema, build_schema(query=Query)):
        assert issubclass(schema.execution_context_class, EventScopedExecutor)
