"""The demo site's schema: the library's pieces plus mutations that start demonstration tasks."""

from __future__ import annotations

import strawberry
from asgiref.sync import sync_to_async
from celery import chain, chord, group
from strawberry.tools import merge_types
from strawberry.types import Info

from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.schema import Mutation, Query, Subscription, build_schema
from user_tasks_graphql.schema.context import viewer
from user_tasks_graphql.schema.errors import bad_input
from user_tasks_graphql.schema.queries import load_status
from user_tasks_graphql.schema.types import UserTaskStatusType
from user_tasks_graphql.tasks import status_for

from .tasks import demo_task, export_csv

MAX_STEPS = 1000
MAX_SECONDS = 300  # what one demo call may keep workers busy for, all its tasks together


def _check(steps: int, step_seconds: float, fail_at_step: int | None = None, tasks: int = 1) -> None:
    if not 1 <= steps <= MAX_STEPS:
        raise bad_input(f"`steps` must be between 1 and {MAX_STEPS}.")
    if not 0 <= step_seconds <= 10:
        raise bad_input("`stepSeconds` must be between 0 and 10.")
    if fail_at_step is not None and not 1 <= fail_at_step <= steps:
        raise bad_input("`failAtStep` must be between 1 and `steps`.")
    if tasks * steps * step_seconds > MAX_SECONDS:
        raise bad_input(f"A demo may run for at most {MAX_SECONDS} s in all (tasks x steps x stepSeconds).")


def _start_task(info: Info, steps: int, step_seconds: float, fail_at_step: int | None) -> UserTaskStatusType:
    user = viewer(info)
    _check(steps, step_seconds, fail_at_step)
    return _as_selected(info, status_for(demo_task.delay(user.pk, steps, step_seconds, fail_at_step)))


def _as_selected(info: Info, status: UserTaskStatus) -> UserTaskStatusType:
    """The new status loaded with what the mutation's selection asks (children, artifacts...)."""
    loaded = load_status(info, status.uuid)
    assert loaded is not None, "a user always sees the task they just started"
    return loaded  # type: ignore[return-value]


def _start_canvas(info: Info, kind: str, children: int, steps: int, step_seconds: float) -> UserTaskStatusType:
    user = viewer(info)
    if kind not in ("chain", "group", "chord") or not 2 <= children <= 20:
        raise bad_input("`kind` must be chain, group or chord, and `children` between 2 and 20.")
    _check(steps, step_seconds, tasks=children)
    name = f"Demo {kind} of {children}"
    signatures = [demo_task.si(user.pk, steps, step_seconds, user_task_name=name) for _ in range(children)]
    canvas = {"group": group(*signatures), "chain": chain(*signatures), "chord": chord(signatures[:-1], signatures[-1])}
    return _as_selected(info, status_for(canvas[kind].delay()))


@strawberry.type
class DemoMutation:
    @strawberry.mutation(description="Start a demo task for the logged-in user; returns its status (PENDING).")
    async def start_demo_task(
        self, info: Info, steps: int = 10, step_seconds: float = 0.5, fail_at_step: int | None = None
    ) -> UserTaskStatusType:
        return await sync_to_async(_start_task)(info, steps, step_seconds, fail_at_step)

    @strawberry.mutation(description="Start a chain, group or chord of demo tasks; returns the container status.")
    async def start_demo_canvas(
        self, info: Info, kind: str, children: int = 3, steps: int = 3, step_seconds: float = 0.2
    ) -> UserTaskStatusType:
        return await sync_to_async(_start_canvas)(info, kind, children, steps, step_seconds)

    @strawberry.mutation(description="Start an export that builds a CSV file artifact, one row per step.")
    async def start_demo_export(self, info: Info, rows: int = 20) -> UserTaskStatusType:
        def start() -> UserTaskStatusType:
            user = viewer(info)
            if not 1 <= rows <= MAX_STEPS:
                raise bad_input(f"`rows` must be between 1 and {MAX_STEPS}.")
            result = export_csv.delay(user.pk, rows)
            return _as_selected(info, UserTaskStatus.objects.get(task_id=result.id))

        return await sync_to_async(start)()


schema = build_schema(
    query=Query, mutation=merge_types("Mutation", (DemoMutation, Mutation)), subscription=Subscription
)
