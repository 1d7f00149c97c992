"""What tracking costs the database per task: the statements of each step of a task's lifecycle."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.testapp.receivers import stops_unrecorded
from user_tasks_graphql.core import writes
from user_tasks_graphql.core.events import load_events
from user_tasks_graphql.models import UserTaskStatus

from ..factories import make_container, make_status

pytestmark = pytest.mark.django_db(transaction=True)
RETURNING = connection.vendor == "postgresql"


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"].split()[0] for query in captured.captured_queries]


def test_a_standalone_task_succeeds_in_one_statement(user: Any, settings: Any, nobody_listens: None):
    """The conditional UPDATE decides and returns the row for the event (PostgreSQL); elsewhere
    one read follows."""
    settings.USER_TASKS_PROGRESS_INTERVAL = 60
    status = make_status(user)
    status.increment_completed_steps(3)
    with CaptureQueriesContext(connection) as captured:
        status.succeed()
    assert statements(captured) == (["UPDATE"] if RETURNING else ["UPDATE", "SELECT"])
    assert (status.state, status.completed_steps) == ("Succeeded", 5)


def test_a_task_starts_in_one_statement(user: Any):
    status = make_status(user, state="Pending")
    with CaptureQueriesContext(connection) as captured:
        status.start()
    assert statements(captured) == (["UPDATE"] if RETURNING else ["UPDATE", "SELECT"])
    assert (status.state, status.seq) == ("In Progress", 1)


def test_the_events_an_update_returns_are_the_events_read_after(user: Any):
    parent = make_container(user, total_steps=5)
    status = make_status(user, parent=parent)
    written = writes.rename(UserTaskStatus, [status.pk, parent.pk], "renamed")
    assert written.changed == 2
    assert UserTaskStatus.objects.filter(pk__in=[status.pk, parent.pk], name="renamed").count() == 2
    if not RETURNING:  # other databases write with the ORM, and the caller reads the rows after
        assert written.events == []
        return
    by_id = {event["id"]: event for event in load_events(UserTaskStatus, [status.pk, parent.pk])}
    assert {event["id"]: event for event in written.events} == by_id
    assert by_id[status.pk]["parent_uuid"] == str(parent.uuid)


def test_a_task_that_ended_otherwise_is_reloaded(user: Any, nobody_listens: None):
    status = make_status(user)
    UserTaskStatus.objects.get(pk=status.pk).cancel()
    status.succeed()
    assert status.state == "Canceled"


def test_a_child_reads_its_steps_first_for_its_ancestors(user: Any, settings: Any, nobody_listens: None):
    settings.USER_TASKS_PROGRESS_INTERVAL = 60
    parent = make_container(user, total_steps=5)
    status = make_status(user, parent=parent)
    status.increment_completed_steps(3)
    status.succeed()
    assert UserTaskStatus.objects.get(pk=parent.pk).completed_steps == 5


def test_the_stopped_signal_reads_the_row_only_for_its_receivers(user: Any):
    def reads_to_fail() -> int:
        with CaptureQueriesContext(connection) as captured:
            make_status(user).fail("boom")
        return statements(captured).count("SELECT")

    listened = reads_to_fail()
    with stops_unrecorded():
        unheard = reads_to_fail()
    assert unheard == listened - 1


def test_publishing_a_task_reads_its_user_once_and_creates_its_row(user: Any):
    """``apply_async`` checks the user, then counts its unfinished tasks under the user's lock
    (``USER_TASKS_MAX_ACTIVE_PER_USER``; on PostgreSQL an advisory lock, taken and given back);
    creating the row (before the broker has the message) does not check the user again, nor look for
    the row first, nor read it back for its event."""
    from tests.testapp import tasks

    with CaptureQueriesContext(connection) as captured:
        tasks.counting_task.delay(user.id, "x", total_steps=3)
    reads_and_writes = [sql for sql in statements(captured) if sql in ("SELECT", "INSERT", "UPDATE")]
    if connection.vendor == "postgresql":
        assert reads_and_writes == ["SELECT", "SELECT", "SELECT", "INSERT", "SELECT"], "the lock, the row, unlock"
    else:
        assert reads_and_writes == ["SELECT", "SELECT", "INSERT"], "the user, its count, the row"


def test_the_user_is_checked_again_for_the_next_publish(user: Any):
    from tests.testapp import tasks

    tasks.counting_task.delay(user.id, "x")
    user_id = user.id
    user.delete()
    with pytest.raises(ValueError, match="Invalid user_id"):
        tasks.counting_task.delay(user_id, "y")
