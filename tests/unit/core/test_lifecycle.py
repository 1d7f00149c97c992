"""The status state machine: every upstream model scenario, plus the fixed behaviours."""

from typing import Any

import pytest

from user_tasks_graphql.core.states import UserTaskState
from user_tasks_graphql.exceptions import TaskCanceledException
from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

from ..factories import make_container, make_status, reload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def write_every_increment(settings: Any) -> None:
    """These tests check the arithmetic of each write; coalescing has its own tests."""
    settings.USER_TASKS_PROGRESS_INTERVAL = 0


@pytest.fixture
def revoked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr("user_tasks_graphql.worker.signals.revoke_task", calls.append)
    return calls


def test_cancel_parent_cancels_pending_children(user: Any, revoked: list[str], django_capture_on_commit_callbacks: Any):
    parent = make_container(user)
    child = make_status(user, parent=parent, state=UserTaskStatus.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        parent.cancel()
    assert reload(parent).state == UserTaskStatus.CANCELED
    assert reload(child).state == UserTaskStatus.CANCELED
    assert revoked == [child.task_id], "a queued child must be revoked, the container has no message"


def test_cancel_finished_task_is_a_no_op(user: Any, revoked: list[str]):
    status = make_status(user, state=UserTaskStatus.SUCCEEDED)
    status.cancel()
    assert reload(status).state == UserTaskStatus.SUCCEEDED
    assert revoked == []


def test_cancel_running_task_is_not_revoked(user: Any, revoked: list[str], django_capture_on_commit_callbacks: Any):
    status = make_status(user)
    with django_capture_on_commit_callbacks(execute=True):
        status.cancel()
    assert status.state == reload(status).state == UserTaskStatus.CANCELED
    assert revoked == []


def test_revoke_waits_for_commit(user: Any, revoked: list[str], django_capture_on_commit_callbacks: Any):
    status = make_status(user, state=UserTaskStatus.RETRYING)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        status.cancel()
    assert revoked == [], "revoke before commit could drop a task whose cancel is rolled back"
    for callback in callbacks:
        callback()
    assert revoked == [status.task_id]


def test_fail_with_parent_fails_every_ancestor_with_its_own_error(user: Any):
    grandparent = make_container(user, kind="chord")
    parent = make_container(user, kind="group", parent=grandparent)
    child = make_status(user, parent=parent)
    child.fail("Oops!")
    for status in (child, parent, grandparent):
        row = reload(status)
        assert row.state == UserTaskStatus.FAILED
        assert [(a.name, a.text) for a in row.artifacts.all()] == [("Error", "Oops!")]


def test_fail_does_not_touch_a_finished_status(user: Any):
    status = make_status(user, state=UserTaskStatus.SUCCEEDED)
    status.fail("late error")
    assert reload(status).state == UserTaskStatus.SUCCEEDED
    assert not UserTaskArtifact.objects.exists()


def test_failed_group_stays_failed_when_other_children_succeed(user: Any):
    group = make_container(user, kind="group", total_steps=2)
    first = make_status(user, parent=group, total_steps=1)
    second = make_status(user, parent=group, total_steps=1)
    first.fail("bad")
    second.succeed()
    group = reload(group)
    assert group.state == UserTaskStatus.FAILED
    assert group.completed_steps == 1
    assert UserTaskArtifact.objects.filter(name="Error").count() == 2


def test_increment_completed_steps_reaches_parent(user: Any):
    parent = make_container(user, total_steps=0)
    child = make_status(user, parent=parent, total_steps=2)
    child.increment_completed_steps()
    assert child.completed_steps == reload(child).completed_steps == 1
    assert reload(parent).completed_steps == 1


def test_increment_completed_steps_explicit_steps(user: Any):
    status = make_status(user)
    status.increment_completed_steps(3)
    assert status.completed_steps == reload(status).completed_steps == 3


def test_increment_sums_into_every_ancestor(user: Any):
    chord = make_container(user, kind="chord")
    group = make_container(user, kind="group", parent=chord)
    child = make_status(user, parent=group)
    child.increment_completed_steps(2)
    child.increment_completed_steps(3)
    assert [reload(s).completed_steps for s in (child, group, chord)] == [5, 5, 5]


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_increment_rejects_steps_that_are_not_natural_numbers(user: Any, bad: Any):
    status = make_status(user)
    with pytest.raises(ValueError, match="non-negative integer"):
        status.increment_completed_steps(bad)
    assert reload(status).completed_steps == 0


def test_steps_beyond_the_anchors_small_int_limit(user: Any):
    status = make_status(user, total_steps=1_000_000)
    status.increment_completed_steps(100_000)
    assert reload(status).completed_steps == 100_000


def test_increment_total_steps(user: Any):
    parent = make_container(user, total_steps=3)
    child = make_status(user, parent=parent, total_steps=2)
    make_status(user, parent=parent, total_steps=1)
    child.increment_total_steps(2)
    assert child.total_steps == reload(child).total_steps == 4
    assert reload(parent).total_steps == 5


def test_increment_after_cancel_raises_and_leaves_the_final_row_alone(user: Any):
    parent = make_container(user, state=UserTaskStatus.IN_PROGRESS)
    status = make_status(user, parent=parent, completed_steps=2)
    UserTaskStatus.objects.filter(pk=parent.pk).update(completed_steps=2)
    UserTaskStatus.objects.filter(pk=status.pk).update(state=UserTaskStatus.CANCELED)
    with pytest.raises(TaskCanceledException):
        status.increment_completed_steps()
    assert reload(status).completed_steps == 2, "a final state is final, its steps included"
    assert reload(parent).completed_steps == 2


def test_retry_counts_an_attempt_and_leaves_the_parent(user: Any):
    parent = make_container(user, state=UserTaskStatus.IN_PROGRESS)
    child = make_status(user, parent=parent)
    child.retry()
    assert (child.state, child.attempts) == (UserTaskStatus.RETRYING, 2)
    assert reload(child).attempts == 2
    assert reload(parent).state == UserTaskStatus.IN_PROGRESS


def test_set_name_renames_ancestors(user: Any):
    parent = make_container(user)
    child = make_status(user, parent=parent)
    child.set_name("New Name")
    assert child.name == reload(child).name == reload(parent).name == "New Name"


def test_set_state_sets_custom_text_and_keeps_the_lifecycle_state(user: Any):
    status = make_status(user)
    status.set_state("Custom State")
    row = reload(status)
    assert (row.state, row.state_text) == (UserTaskStatus.IN_PROGRESS, "Custom State")
    assert status.state_text == "Custom State"
    assert row.display_text == "Custom State"


def test_set_state_canceled_raises_and_writes_nothing(user: Any):
    parent = make_container(user, state=UserTaskStatus.IN_PROGRESS)
    status = make_status(user, parent=parent, state=UserTaskStatus.CANCELED)
    with pytest.raises(TaskCanceledException):
        status.set_state("Custom State")
    assert reload(status).state == UserTaskStatus.CANCELED
    assert reload(status).state_text == ""
    assert reload(parent).state_text == ""


def test_set_state_propagates_to_chain_parent(user: Any):
    parent = make_container(user, kind="chain", state=UserTaskStatus.IN_PROGRESS)
    child = make_status(user, parent=parent)
    child.set_state("Custom State")
    assert reload(parent).state_text == "Custom State"


def test_set_state_does_not_propagate_past_a_group(user: Any):
    chord = make_container(user, kind="chord", state=UserTaskStatus.IN_PROGRESS)
    group = make_container(user, kind="group", parent=chord, state=UserTaskStatus.IN_PROGRESS)
    header = make_status(user, parent=group)
    body = make_status(user, parent=chord)
    header.set_state("header text")
    assert reload(group).state_text == reload(chord).state_text == ""
    body.set_state("body text")
    assert reload(chord).state_text == "body text"


def test_set_state_truncates_long_text(user: Any):
    status = make_status(user)
    status.set_state("x" * 1000)
    assert len(reload(status).state_text) == 255


def test_start(user: Any):
    status = make_status(user, state=UserTaskStatus.PENDING)
    status.start()
    assert status.state == reload(status).state == UserTaskStatus.IN_PROGRESS
    assert reload(status).attempts == 1


def test_start_again_counts_a_redelivered_attempt(user: Any):
    status = make_status(user, state=UserTaskStatus.PENDING)
    status.start()
    status.start()
    assert reload(status).attempts == 2


def test_start_clears_the_previous_attempts_custom_text(user: Any):
    status = make_status(user, state_text="Halfway", state=UserTaskStatus.RETRYING)
    status.start()
    assert reload(status).state_text == ""


def test_start_canceled_task_raises(user: Any):
    status = make_status(user, state=UserTaskStatus.CANCELED)
    with pytest.raises(TaskCanceledException):
        status.start()
    assert reload(status).state == UserTaskStatus.CANCELED


def test_start_with_failed_sibling_keeps_parent_failed(user: Any):
    parent = make_container(user, state=UserTaskStatus.FAILED)
    make_status(user, parent=parent, state=UserTaskStatus.FAILED)
    child2 = make_status(user, parent=parent, state=UserTaskStatus.PENDING)
    child2.start()
    assert reload(child2).state == UserTaskStatus.IN_PROGRESS
    assert reload(parent).state == UserTaskStatus.FAILED


def test_start_with_parent_starts_waiting_ancestors(user: Any):
    chord = make_container(user, kind="chord")
    group = make_container(user, kind="group", parent=chord)
    child = make_status(user, parent=group, state=UserTaskStatus.PENDING)
    child.start()
    assert {reload(s).state for s in (child, group, chord)} == {UserTaskStatus.IN_PROGRESS}


def test_custom_text_on_a_chain_sticks_through_the_next_childs_start(user: Any):
    chain = make_container(user, kind="chain")
    first = make_status(user, parent=chain, state=UserTaskStatus.PENDING, total_steps=1)
    second = make_status(user, parent=chain, state=UserTaskStatus.PENDING, total_steps=1)
    first.start()
    first.set_state("Custom")
    first.succeed()
    second.start()
    assert reload(chain).display_text == "Custom"


def test_string_representation(user: Any):
    assert str(make_status(user)) == "<UserTaskStatus: SampleTask>"


def test_succeed_fills_steps_and_succeeds_parent_after_all_children(user: Any):
    parent = make_container(user, total_steps=10)
    child1 = make_status(user, parent=parent, total_steps=5)
    child2 = make_status(user, parent=parent, total_steps=5)
    child1.succeed()
    assert (reload(child1).state, reload(child1).completed_steps) == (UserTaskStatus.SUCCEEDED, 5)
    assert (reload(parent).state, reload(parent).completed_steps) == (UserTaskStatus.PENDING, 5)
    child2.succeed()
    assert (reload(child2).state, reload(child2).completed_steps) == (UserTaskStatus.SUCCEEDED, 5)
    assert (reload(parent).state, reload(parent).completed_steps) == (UserTaskStatus.SUCCEEDED, 10)


def test_succeed_never_decrements(user: Any):
    status = make_status(user, total_steps=2)
    status.increment_completed_steps(5)
    status.succeed()
    assert (reload(status).completed_steps, reload(status).state) == (5, UserTaskStatus.SUCCEEDED)


def test_succeed_keeps_canceled(user: Any):
    status = make_status(user, state=UserTaskStatus.CANCELED)
    status.succeed()
    assert reload(status).state == UserTaskStatus.CANCELED
    assert reload(status).completed_steps == 0


def test_chord_succeeds_only_after_group_and_body(user: Any):
    chord = make_container(user, kind="chord", total_steps=3)
    group = make_container(user, kind="group", parent=chord, total_steps=2)
    headers = [make_status(user, parent=group, total_steps=1) for _ in range(2)]
    body = make_status(user, parent=chord, total_steps=1)
    for header in headers:
        header.succeed()
    assert reload(group).state == UserTaskStatus.SUCCEEDED
    assert (reload(chord).state, reload(chord).completed_steps) == (UserTaskStatus.PENDING, 2)
    body.succeed()
    assert (reload(chord).state, reload(chord).completed_steps) == (UserTaskStatus.SUCCEEDED, 3)


def test_deleted_status_stops_the_running_task(user: Any):
    status = make_status(user)
    UserTaskStatus.objects.filter(pk=status.pk).delete()
    with pytest.raises(TaskCanceledException, match="deleted"):
        status.increment_completed_steps()


@pytest.mark.parametrize(
    ("state", "text", "shown"),
    [
        (UserTaskState.IN_PROGRESS, "Exporting", "Exporting"),
        (UserTaskState.IN_PROGRESS, "", "In Progress"),
        (UserTaskState.SUCCEEDED, "Exporting", "Succeeded"),
        (UserTaskState.PENDING, "", "Pending"),
    ],
)
def test_display_text(user: Any, state: UserTaskState, text: str, shown: str):
    assert make_status(user, state=state, state_text=text).display_text == shown


@pytest.mark.parametrize(
    ("state", "completed", "total", "percent"),
    [
        (UserTaskState.IN_PROGRESS, 1, 4, 25.0),
        (UserTaskState.IN_PROGRESS, 9, 4, 100.0),
        (UserTaskState.IN_PROGRESS, 0, 0, 0.0),
        (UserTaskState.SUCCEEDED, 0, 0, 100.0),
    ],
)
def test_percent_complete(user: Any, state: UserTaskState, completed: int, total: int, percent: float):
    status = make_status(user, state=state, completed_steps=completed, total_steps=total)
    assert status.percent_complete == percent
