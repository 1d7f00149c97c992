"""user_task_stopped: once per status that reaches a final state, after the commit."""

from typing import Any

import pytest
from django.db import transaction

from tests.testapp.models import StoppedSignal
from user_tasks_graphql import user_task_stopped
from user_tasks_graphql.models import UserTaskStatus

from ..factories import make_container, make_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received() -> Any:
    seen: list[tuple[str, str]] = []

    def record(sender: Any, status: UserTaskStatus, **kwargs: Any) -> None:
        assert sender is UserTaskStatus
        seen.append((status.name, status.state))

    user_task_stopped.connect(record, dispatch_uid="test-record")
    yield seen
    user_task_stopped.disconnect(dispatch_uid="test-record")


def test_sent_after_commit_with_the_committed_state(user: Any, received: list[tuple[str, str]]):
    status = make_status(user)
    with transaction.atomic():
        status.fail("boom")
        assert received == [], "a receiver must not see an uncommitted state"
    assert received == [("SampleTask", UserTaskStatus.FAILED)]


def test_not_sent_when_the_transaction_rolls_back(user: Any, received: list[tuple[str, str]]):
    status = make_status(user)

    def succeed_then_roll_back() -> None:
        with transaction.atomic():
            status.succeed()
            raise RuntimeError

    with pytest.raises(RuntimeError):
        succeed_then_roll_back()
    assert received == []
    assert UserTaskStatus.objects.get(pk=status.pk).state == UserTaskStatus.IN_PROGRESS


def test_sent_once_however_often_a_final_state_is_reached(user: Any, received: list[tuple[str, str]]):
    status = make_status(user, state=UserTaskStatus.PENDING)
    status.cancel()
    status.cancel()
    status.fail("late")
    status.succeed()
    assert received == [("SampleTask", UserTaskStatus.CANCELED)]


def test_sent_for_containers_too(user: Any, received: list[tuple[str, str]]):
    group = make_container(user, kind="group")
    children = [make_status(user, parent=group, name=f"child {i}") for i in range(2)]
    for child in children:
        child.succeed()
    assert sorted(received) == [
        ("SampleContainer", UserTaskStatus.SUCCEEDED),
        ("child 0", UserTaskStatus.SUCCEEDED),
        ("child 1", UserTaskStatus.SUCCEEDED),
    ]


def test_cancel_of_a_container_announces_each_row_once(user: Any, received: list[tuple[str, str]]):
    group = make_container(user, kind="group")
    make_status(user, parent=group, name="queued", state=UserTaskStatus.PENDING)
    make_status(user, parent=group, name="done", state=UserTaskStatus.SUCCEEDED)
    group.cancel()
    assert sorted(received) == [
        ("SampleContainer", UserTaskStatus.CANCELED),
        ("queued", UserTaskStatus.CANCELED),
    ]


def test_a_failing_receiver_does_not_break_the_transition(user: Any):
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    user_task_stopped.connect(broken, dispatch_uid="broken")
    try:
        status = make_status(user)
        status.succeed()
    finally:
        user_task_stopped.disconnect(dispatch_uid="broken")
    assert UserTaskStatus.objects.get(pk=status.pk).state == UserTaskStatus.SUCCEEDED
    assert StoppedSignal.objects.filter(state=UserTaskStatus.SUCCEEDED).count() == 1
