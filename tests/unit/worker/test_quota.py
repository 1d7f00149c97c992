"""``USER_TASKS_MAX_ACTIVE_PER_USER``: unfinished tasks per user, refused before anything is
published, exact when publishers race (memory broker: nothing runs unless eager)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from celery import chain, group
from django.contrib.auth import get_user_model
from django.db import connections

from tests.testapp import tasks
from user_tasks_graphql.exceptions import TaskLimitExceeded
from user_tasks_graphql.models import UserTaskStatus


@pytest.fixture(autouse=True)
def limit_of_three(settings: Any) -> None:
    settings.USER_TASKS_MAX_ACTIVE_PER_USER = 3


def unfinished(user: Any) -> int:
    return (
        UserTaskStatus.objects.filter(user=user, is_container=False)
        .exclude(state__in=["Succeeded", "Failed", "Canceled"])
        .count()
    )


@pytest.mark.django_db
def test_the_task_over_the_limit_is_refused_and_not_published(user: Any, other_user: Any):
    for n in range(3):
        tasks.step_task.delay(user.id, str(n))
    with pytest.raises(TaskLimitExceeded) as refused:
        tasks.step_task.delay(user.id, "fourth")
    assert (refused.value.limit, refused.value.active, refused.value.asked) == (3, 3, 1)
    assert "3 unfinished tasks" in str(refused.value)
    assert unfinished(user) == 3
    assert not UserTaskStatus.objects.filter(name="StepTask: fourth").exists()
    tasks.step_task.delay(other_user.id, "someone else")  # another user's room is their own


@pytest.mark.django_db
def test_a_finished_task_frees_its_place_and_a_retry_takes_none(user: Any):
    published = [tasks.step_task.delay(user.id, str(n)) for n in range(3)]
    UserTaskStatus.objects.get(task_id=published[0].id).succeed()
    tasks.step_task.delay(user.id, "in the freed place")
    again = UserTaskStatus.objects.get(task_id=published[1].id)
    tasks.step_task.apply_async((user.id, "1"), task_id=again.task_id)  # as a retry publishes: same id
    assert unfinished(user) == 3


@pytest.mark.django_db
def test_a_chain_is_refused_whole_and_containers_do_not_count(user: Any):
    tasks.step_task.delay(user.id, "alone")
    chain(tasks.step_task.si(user.id, "a"), tasks.step_task.si(user.id, "b")).delay()  # 3 tasks, 1 container
    assert UserTaskStatus.objects.filter(user=user).count() == 4
    UserTaskStatus.objects.filter(name="StepTask: alone").get().succeed()
    with pytest.raises(TaskLimitExceeded):
        chain(tasks.step_task.si(user.id, "c"), tasks.step_task.si(user.id, "d")).delay()
    assert not UserTaskStatus.objects.filter(name__in=["StepTask: c", "StepTask: d"]).exists()


@pytest.mark.django_db
def test_a_group_is_refused_at_the_member_over_the_limit(user: Any):
    with pytest.raises(TaskLimitExceeded):
        group(tasks.step_task.si(user.id, str(n)) for n in range(5)).delay()
    assert unfinished(user) == 3, "the members before it were published (docs/settings.md)"


@pytest.mark.django_db
def test_no_limit(user: Any, settings: Any):
    settings.USER_TASKS_MAX_ACTIVE_PER_USER = None
    for n in range(5):
        tasks.step_task.delay(user.id, str(n))
    assert unfinished(user) == 5


@pytest.mark.django_db
def test_eager_tasks_are_counted_and_run_outside_the_check(user: Any, eager: None):
    for n in range(5):  # each finishes before the next is published
        assert tasks.step_task.delay(user.id, str(n)).get() == str(n)
    assert UserTaskStatus.objects.filter(user=user, state="Succeeded").count() == 5


@pytest.mark.django_db(transaction=True)
def test_racing_publishers_never_pass_the_limit(settings: Any):
    """Eight threads, each its own database connection, publish for one user at once."""
    settings.USER_TASKS_MAX_ACTIVE_PER_USER = 5
    user = get_user_model().objects.create_user("racer")
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def publish(n: int) -> None:
        start.wait()
        try:
            tasks.step_task.delay(user.id, str(n))
            outcomes.append("published")
        except TaskLimitExceeded:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["published"] * 5 + ["refused"] * 3
    assert unfinished(user) == 5
