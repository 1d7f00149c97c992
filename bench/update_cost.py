"""What progress costs: one call, and a whole task of many steps, against baselines run alongside.

Baselines: (a) one raw UPDATE plus one raw Redis PUBLISH, (b) django-user-tasks' increment,
(c) ``async_to_sync(channel_layer.group_send)`` per call; and for whole tasks the same loop with
no tracking at all.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F

from bench.harness import Timing, measure, redis_url, report


def _ours(user: Any, parent: Any = None, kind: str | None = None) -> Any:
    from user_tasks_graphql.models import UserTaskStatus

    return UserTaskStatus.objects.create(
        user=user, task_id=str(uuid.uuid4()), parent=parent, is_container=bool(kind),
        task_class=f"celery.{kind}" if kind else "bench.task", name="bench", total_steps=10**9,
        state=UserTaskStatus.IN_PROGRESS,
    )  # fmt: skip


def _theirs(user: Any, parent: Any = None, kind: str | None = None) -> Any:
    from user_tasks.models import UserTaskStatus as AnchorStatus

    return AnchorStatus.objects.create(
        user=user, task_id=str(uuid.uuid4()), parent=parent, is_container=bool(kind),
        task_class=f"celery.{kind}" if kind else "bench.task", name="bench", total_steps=32000,
        state=AnchorStatus.IN_PROGRESS,
    )  # fmt: skip


def per_call(user: Any, repeat: int) -> str:
    from user_tasks.models import UserTaskStatus as AnchorStatus

    from user_tasks_graphql.core.events import load_events
    from user_tasks_graphql.models import UserTaskStatus

    settings.USER_TASKS_PROGRESS_INTERVAL = 0
    standalone, chord = _ours(user), _ours(user, kind="chord")
    child = _ours(user, parent=_ours(user, parent=chord, kind="group"))
    anchor, anchor_chord = _theirs(user), _theirs(user, kind="chord")
    anchor_child = _theirs(user, parent=_theirs(user, parent=anchor_chord, kind="group"))
    rows = UserTaskStatus.objects.filter(pk=standalone.pk)
    client = redis.Redis.from_url(redis_url())
    payload = json.dumps(load_events(UserTaskStatus, [standalone.pk])[0]).encode()
    layer = get_channel_layer()
    event = load_events(UserTaskStatus, [standalone.pk])[0]

    def floor() -> None:
        rows.update(completed_steps=F("completed_steps") + 1)
        client.publish("bench.floor", payload)

    def reset_anchor() -> None:  # its counters are small integers (max 32767)
        AnchorStatus.objects.update(completed_steps=0)

    baseline = measure("(a) raw UPDATE + raw Redis PUBLISH", floor, repeat)
    timings: list[Timing] = [
        measure("ours, every call written and published, standalone", standalone.increment_completed_steps, repeat),
        measure(
            "ours, every call written and published, child in chord > group", child.increment_completed_steps, repeat
        ),
    ]
    reset_anchor()
    timings.append(
        measure(
            "(b) django-user-tasks increment, standalone (publishes nothing)",
            anchor.increment_completed_steps,
            min(repeat, 3000),
        )
    )
    reset_anchor()
    timings.append(
        measure(
            "(b) django-user-tasks increment, child in chord > group",
            anchor_child.increment_completed_steps,
            min(repeat, 3000),
        )
    )
    timings.append(
        measure(
            "(c) async_to_sync(group_send) per call (no database)",
            lambda: async_to_sync(layer.group_send)("bench.group", event),
            repeat,
        )
    )
    settings.USER_TASKS_PROGRESS_INTERVAL = 0.2
    calls = max(repeat * 10, 10_000)
    started = time.perf_counter()
    for _ in range(calls):
        standalone.increment_completed_steps()
    standalone.flush_progress()
    per = (time.perf_counter() - started) / calls
    timings.append(Timing("ours, default coalescing (0.2 s), tight loop: mean per call", [per]))
    return report("Update cost: one progress call", baseline, timings)


def whole_tasks(user: Any, steps: int) -> str:
    from bench.tasks import anchor_task, tracked_loop, untracked_loop

    anchor_loop = anchor_task()

    def run(task: Any) -> float:
        started = time.perf_counter()
        result = task.apply((user.id, steps))
        elapsed = time.perf_counter() - started
        assert result.successful(), result.traceback
        return elapsed

    for task in (untracked_loop, tracked_loop):  # first runs pay for connections and the publisher loop
        task.apply((user.id, 10))
    rounds = 3
    untracked = Timing(f"plain Celery task, {steps:,} steps, no tracking", [run(untracked_loop) for _ in range(rounds)])
    ours = Timing(f"ours: UserTask, increment every step ({steps:,} calls)", [run(tracked_loop) for _ in range(rounds)])
    theirs = Timing(f"django-user-tasks UserTask, increment every step ({steps:,} calls)", [run(anchor_loop)])
    table = report(
        "A whole task: wall time of one run (median of runs; steps hash 64 KiB each)", untracked, [ours, theirs]
    )
    extra_ours = (ours.p50 - untracked.p50) / steps
    extra_theirs = (theirs.p50 - untracked.p50) / steps
    return table + (
        f"\n\nTracking cost per step: ours {extra_ours * 1e6:.1f} us, django-user-tasks {extra_theirs * 1e6:.1f} us "
        f"({extra_theirs / max(extra_ours, 1e-9):.0f}x ours)."
    )


def run(quick: bool = False) -> str:
    repeat, steps = (300, 1_000) if quick else (3000, 10_000)
    user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:6]}")
    return per_call(user, repeat) + "\n\n" + whole_tasks(user, steps)
