"""The executor's reliance on graphql-core's private parts (adapters/graphql_core.py): checked once,
and without them one warning and Strawberry's default executor, with which subscriptions still
deliver every event (tests/unit/live/test_shared_results.py checks it over the websocket)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing
from typing import Any

import graphql
import pytest
import strawberry
from graphql import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from tests.unit.adapters.checks import Query, Tick, Warnings, checked_anew
from user_tasks_graphql.adapters import graphql_core
from user_tasks_graphql.adapters.graphql_core import SharingExecutor, executor_class
from user_tasks_graphql.schema import build_schema


def _rename_memo(old: str, new: str) -> Callable[[pytest.MonkeyPatch], None]:
    """A graphql-core whose executors keep the memo they called ``old`` as ``new``."""

    def rename(monkeypatch: pytest.MonkeyPatch) -> None:
        original = Executor.__init__

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            setattr(self, new, vars(self).pop(old))

        monkeypatch.setattr(Executor, "__init__", __init__)

    return rename


def _old_execute_operation(self: Any, operation: Any, root_value: Any) -> Any:  # graphql-core 3.2's
    raise AssertionError("never called: the check only reads its signature")


def _built_otherwise(cls: Any, *args: Any, **kwargs: Any) -> list[Any]:
    return []  # as if every document had errors


def _init_otherwise(self: Any, *args: Any, **kwargs: Any) -> None:
    raise RuntimeError("constructed otherwise")


BREAKAGES: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "Executor.build_per_event_executor(payload)": lambda m: m.delattr(Executor, "build_per_event_executor"),
    "Executor.execute_operation(serially)": lambda m: m.setattr(Executor, "execute_operation", _old_execute_operation),
    "Executor._relevant_sub_fields": _rename_memo("_relevant_sub_fields", "_sub_fields_memo"),
    "Executor._stream_usages": _rename_memo("_stream_usages", "_stream_usage_memo"),
    "Executor.build(schema, document)": lambda m: m.setattr(Executor, "build", classmethod(_built_otherwise)),
    "the executor as graphql-core 3.3 builds it": lambda m: m.setattr(Executor, "__init__", _init_otherwise),
}


@pytest.fixture
def unchecked(monkeypatch: pytest.MonkeyPatch) -> Iterator[Warnings]:
    with checked_anew(monkeypatch, graphql_core.CHECK) as warnings:
        yield warnings


def force_fallback(monkeypatch: pytest.MonkeyPatch, missing: str = "Executor._stream_usages") -> None:
    """The adapter's one check made with a graphql-core lacking ``missing``; graphql-core is whole
    again afterwards, and the adapter keeps to Strawberry's executor (until the test's end)."""
    monkeypatch.setattr(graphql_core.CHECK, "result", None)
    with monkeypatch.context() as broken:
        BREAKAGES[missing](broken)
        assert executor_class() is StrawberryGraphQLCoreExecutionContext


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self, count: int) -> AsyncGenerator[Tick, None]:
        for number in range(1, count + 1):
            yield Tick(number=number, label=f"tick {number}")


def test_this_graphql_core_has_what_the_executor_needs(unchecked: Warnings):
    assert graphql_core.missing_internals() == ()
    assert executor_class() is SharingExecutor
    assert unchecked.records == []


@pytest.mark.parametrize("missing", list(BREAKAGES))
def test_missing_internals_mean_strawberrys_executor_and_one_warning(
    missing: str, unchecked: Warnings, monkeypatch: pytest.MonkeyPatch
):
    force_fallback(monkeypatch, missing)
    assert executor_class() is StrawberryGraphQLCoreExecutionContext, "for good: the check is not made again"
    assert build_schema(query=Query).execution_context_class is StrawberryGraphQLCoreExecutionContext
    (warning,) = unchecked.records
    assert missing in warning.getMessage()
    assert "Strawberry's default executor" in warning.getMessage()


async def test_with_strawberrys_executor_subscriptions_deliver_every_event(
    unchecked: Warnings, monkeypatch: pytest.MonkeyPatch
):
    force_fallback(monkeypatch)
    schema = build_schema(query=Query, subscription=Subscription)
    assert schema.execution_context_class is StrawberryGraphQLCoreExecutionContext
    stream = await schema.subscribe("subscription { ticks(count: 3) { number label } }")
    assert not hasattr(stream, "errors"), stream
    async with aclosing(stream):
        results = [result async for result in stream]
    assert [result.errors for result in results] == [None] * 3
    assert [result.data for result in results] == [
        {"ticks": {"number": number, "label": f"tick {number}"}} for number in (1, 2, 3)
    ]
    assert len(unchecked.records) == 1


def test_a_project_executor_derived_from_ours_leaves_graphql_core_alone_without_the_internals(
    unchecked: Warnings, monkeypatch: pytest.MonkeyPatch
):
    """A project's own executor derived from ``SharingExecutor`` (docs/operations.md) consults the
    same check: without the internals it no longer touches them, as Strawberry's executor does not."""

    class ProjectExecutor(SharingExecutor):
        pass

    def memo_replaced_per_event() -> bool:
        executor = ProjectExecutor.build(graphql.build_schema("type Query { ok: Boolean }"), graphql.parse("{ ok }"))
        assert isinstance(executor, ProjectExecutor)
        event = executor.build_per_event_executor(None)
        return event._relevant_sub_fields is not executor._relevant_sub_fields

    assert memo_replaced_per_event()
    force_fallback(monkeypatch, "Executor._stream_usages")
    assert not memo_replaced_per_event()
