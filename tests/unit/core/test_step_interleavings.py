"""Exact step counts whatever the order of the task thread and the worker's flusher thread.

Each scenario runs once for every point of one thread at which the other can cut in: the task is
paused at its n-th read or write while the flusher flushes, and the flusher is paused at its n-th
while the task goes on. The rows must end with exactly the steps of the current attempt
(a success fills up to the total), parents included.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

from ..factories import make_container, make_status, reload
from .interleaving import Points, SpyLock, in_thread, instrument, spy_on

pytestmark = pytest.mark.django_db(transaction=True)

Ops = Callable[[UserTaskStatus], None]


def increments(n: int) -> Ops:
    def run(status: UserTaskStatus) -> None:
        for _ in range(n):
            status.increment_completed_steps()

    return run


def then(*ops: Ops) -> Ops:
    def run(status: UserTaskStatus) -> None:
        for op in ops:
            op(status)

    return run


def flushed(status: UserTaskStatus) -> None:
    status.flush_progress()


def artifact(status: UserTaskStatus) -> None:
    UserTaskArtifact.objects.create(status=status, text="part")


@dataclass
class Scenario:
    before: Ops  # the task's work before the flusher may cut in
    after: Ops  # the task's work the flusher interleaves with
    expected: tuple[str, int, int]  # the task row's (state, completed steps, attempts)
    parent_steps: int
    state: str = UserTaskStatus.IN_PROGRESS
    done_before: int = 0  # steps an earlier attempt left on the rows


SCENARIOS = {
    "success under the total": Scenario(increments(4), UserTaskStatus.succeed, ("Succeeded", 5, 1), 5),
    "success over the total": Scenario(increments(6), UserTaskStatus.succeed, ("Succeeded", 6, 1), 6),
    "deferred start": Scenario(
        then(lambda s: s.start(defer=1e-9), increments(2)),
        then(lambda s: s.set_state("half"), increments(2), UserTaskStatus.succeed),
        ("Succeeded", 5, 1),
        5,
        state=UserTaskStatus.PENDING,
    ),
    "retry": Scenario(then(increments(2), flushed, increments(2)), UserTaskStatus.retry, ("Retrying", 0, 2), 0),
    "redelivered": Scenario(
        increments(0),
        then(UserTaskStatus.start, increments(2), flushed, increments(1), flushed),
        ("In Progress", 3, 2),
        3,
        done_before=3,
    ),
    "every kind of change": Scenario(
        increments(2),
        then(
            lambda s: s.increment_total_steps(2),
            increments(1),
            artifact,
            lambda s: s.set_name("renamed"),
            increments(3),
            UserTaskStatus.succeed,
        ),
        ("Succeeded", 7, 1),
        7,
    ),
}


@pytest.fixture(autouse=True)
def coalesce(settings: Any) -> None:
    settings.USER_TASKS_PROGRESS_INTERVAL = 60  # only the tests' flushes and changes write


def prepare(user: Any, scenario: Scenario) -> tuple[UserTaskStatus, UserTaskStatus, SpyLock]:
    parent = make_container(user, state=UserTaskStatus.IN_PROGRESS, total_steps=5, completed_steps=scenario.done_before)
    status = make_status(user, parent=parent, state=scenario.state, total_steps=5, completed_steps=scenario.done_before)
    lock = spy_on(status)
    scenario.before(status)
    return parent, status, lock


def check(scenario: Scenario, parent: UserTaskStatus, status: UserTaskStatus, where: str) -> None:
    row = reload(status)
    assert (row.state, row.completed_steps, row.attempts) == scenario.expected, where
    assert reload(parent).completed_steps == scenario.parent_steps, where
    if not row.is_finished:
        assert status.completed_steps == row.completed_steps, f"the task's own count, {where}"


def interleave(user: Any, monkeypatch: Any, scenario: Scenario, paused: str, index: int) -> Points:
    """Pause ``paused`` (the task or the flusher) at its ``index``-th point and run the other thread
    until it finishes or waits for the status's lock; then let both finish and check the rows."""
    points = Points()
    instrument(monkeypatch, points)
    parent, status, lock = prepare(user, scenario)
    actions = {"task": lambda: scenario.after(status), "flusher": status.flush_progress}
    other = "flusher" if paused == "task" else "task"
    errors: list[BaseException] = []
    started: list[threading.Thread] = []

    def run_other() -> None:
        started.append(in_thread(other, points, actions[other], errors))
        lock.wait_until_done_or_waiting(started[0])

    points.pause(paused, index, run_other)
    in_thread(paused, points, actions[paused], errors).join()
    if not started:  # fewer points than ``index``: the other runs after it
        started.append(in_thread(other, points, actions[other], errors))
    started[0].join()
    assert not errors, errors
    check(scenario, parent, status, f"{other} ran with {points.paused_at or f'{paused} done'}")
    return points


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_flusher_cutting_in_at_every_point_of_the_task(user: Any, monkeypatch: Any, name: str):
    index = 0
    while index < len(interleave(user, monkeypatch, SCENARIOS[name], "task", index).seen["task"]):
        index += 1


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_task_going_on_at_every_point_of_the_flusher(user: Any, monkeypatch: Any, name: str):
    index = 0
    while index < len(interleave(user, monkeypatch, SCENARIOS[name], "flusher", index).seen["flusher"]):
        index += 1


def sibling_succeeds_meanwhile(user: Any, monkeypatch: Any, index: int) -> Points:
    """A group's child succeeds while its sibling, in another process, is paused at its ``index``-th point."""
    points = Points()
    instrument(monkeypatch, points)
    group = make_container(user, kind="group", state=UserTaskStatus.IN_PROGRESS, total_steps=10, completed_steps=4)
    first = make_status(user, parent=group, total_steps=5, completed_steps=2)
    second = make_status(user, parent=group, total_steps=5, completed_steps=2)
    first.increment_completed_steps(3)  # waiting in memory: its success writes them
    second.increment_completed_steps(1)  # and this one fills up to its total
    errors: list[BaseException] = []
    other: list[threading.Thread] = []

    def sibling() -> None:
        other.append(in_thread("sibling", points, UserTaskStatus.objects.get(pk=second.pk).succeed, errors))
        other[0].join(2)  # done, or waiting for the paused one's transaction to end

    points.pause("task", index, sibling)
    with points.role("task"):
        first.succeed()
    for thread in other:
        thread.join()
    if not other:
        UserTaskStatus.objects.get(pk=second.pk).succeed()
    assert not errors, errors
    found = UserTaskStatus.objects.filter(pk__in=[group.pk, first.pk, second.pk])
    rows = {row.pk: (row.state, row.completed_steps) for row in found}
    where = f"sibling succeeded with the first paused at {points.paused_at or 'the end'}"
    assert rows == {group.pk: ("Succeeded", 10), first.pk: ("Succeeded", 5), second.pk: ("Succeeded", 5)}, where
    return points


def test_a_sibling_succeeding_at_every_point_of_a_success(user: Any, monkeypatch: Any):
    index = 0
    while index < len(sibling_succeeds_meanwhile(user, monkeypatch, index).seen["task"]):
        index += 1
