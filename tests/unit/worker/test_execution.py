"""Tasks run inline (eager mode): the Celery hooks drive each status to the right final state."""

import logging
from typing import Any

import pytest
from celery import chain
from celery.app.task import Context
from django.db import OperationalError, transaction

from tests.testapp import tasks
from tests.testapp.models import StoppedSignal
from user_tasks_graphql.exceptions import TaskCanceledException
from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus
from user_tasks_graphql.tasks import UserTask
from user_tasks_graphql.worker import signals

pytestmark = pytest.mark.django_db(transaction=True)


def stops() -> list[str]:
    return list(StoppedSignal.objects.order_by("id").values_list("state", flat=True))


def test_eager_task_succeeds(user: Any, eager: None):
    result = tasks.step_task.delay(user.id, "Argument")
    status = UserTaskStatus.objects.get(task_id=result.id)
    assert (status.name, status.user_id, status.task_class) == (
        "StepTask: Argument",
        user.id,
        "tests.testapp.tasks.step_task",
    )
    assert (status.state, status.completed_steps, status.total_steps, status.attempts) == (
        "Succeeded",
        1,
        1,
        1,
    )
    assert stops() == ["Succeeded"]


def test_progress_set_state_and_artifact(user: Any, eager: None):
    result = tasks.progress_task.delay(user.id, "export", total_steps=3)
    status = UserTaskStatus.objects.get(task_id=result.id)
    assert (status.state, status.completed_steps, status.total_steps) == ("Succeeded", 3, 3)
    assert status.state_text == "Step 3 of 3"
    assert [(a.name, a.text) for a in status.artifacts.all()] == [("Output", "1,2,3")]


def test_canceled_before_execution(user: Any):
    result = tasks.step_task.delay(user.id, "Argument")
    status = UserTaskStatus.objects.get(task_id=result.id)
    status.cancel()
    status = UserTaskStatus.objects.get(pk=status.pk)
    assert (status.state, status.completed_steps, status.attempts) == ("Canceled", 0, 1)
    assert stops() == ["Canceled"]


def test_canceled_task_body_does_not_run_when_the_message_arrives(user: Any, eager: None):
    status = UserTaskStatus.objects.create(
        user=user,
        task_id="canceled-early",
        task_class="tests.testapp.tasks.progress_task",
        name="x",
        total_steps=2,
    )
    status.cancel()
    tasks.progress_task.apply_async((user.id, "x"), {"total_steps": 2}, task_id="canceled-early")
    status = UserTaskStatus.objects.get(pk=status.pk)
    assert (status.state, status.completed_steps) == ("Canceled", 0)
    assert not UserTaskArtifact.objects.exists(), "the body of a canceled task must not run"
    assert stops() == ["Canceled"]


def test_canceled_during_execution(user: Any, eager: None):
    """django-user-tasks writes the step counted after the cancel (1 of 3); a final state is final."""
    result = tasks.self_canceled_task.delay(user.id, "Argument", total_steps=3)
    status = UserTaskStatus.objects.get(task_id=result.id)
    assert (status.state, status.completed_steps, status.total_steps, status.attempts) == (
        "Canceled",
        0,
        3,
        1,
    )
    assert stops() == ["Canceled"]


def test_a_cancel_is_logged_as_one_info_line_not_an_error(user: Any, eager: None, caplog: Any):
    status = UserTaskStatus.objects.create(
        user=user, task_id="canceled-early", task_class="tests.testapp.tasks.progress_task", name="x", total_steps=2
    )
    status.cancel()
    with caplog.at_level(logging.INFO, logger="celery.app.trace"):
        tasks.progress_task.apply_async((user.id, "x"), {"total_steps": 2}, task_id="canceled-early")
        tasks.failing_task.delay(user.id, "Argument")
    (canceled, failed) = [record for record in caplog.records if record.name == "celery.app.trace"]
    assert (canceled.levelno, canceled.exc_info) == (logging.INFO, None)
    assert "TaskCanceledException" in canceled.getMessage()
    assert failed.levelno == logging.ERROR, "a real failure is still an error"


def test_a_task_class_with_its_own_expected_errors_keeps_the_cancel_among_them():
    class Exporting(UserTask):
        throws = (KeyError,)

    assert set(Exporting.throws) == {KeyError, TaskCanceledException}
    assert TaskCanceledException in tasks.step_task.throws


def test_failed(user: Any, eager: None):
    result = tasks.failing_task.delay(user.id, "Argument")
    status = UserTaskStatus.objects.get(task_id=result.id)
    assert (status.state, status.completed_steps, status.attempts) == ("Failed", 0, 1)
    assert [(a.name, a.text) for a in status.artifacts.all()] == [("Error", "Boom!")]
    assert stops() == ["Failed"]


def test_manually_failed_is_not_overwritten_by_success(user: Any, eager: None):
    result = tasks.manually_failed_task.delay(user.id, "Argument")
    status = UserTaskStatus.objects.get(task_id=result.id)
    assert (status.state, status.completed_steps) == ("Failed", 0)
    assert [a.text for a in status.artifacts.all()] == ["Something went wrong"]
    assert stops() == ["Failed"]


def test_retried(user: Any, eager: None):
    result = tasks.retried_task.delay(user.id, "Argument")
    status = UserTaskStatus.objects.get(task_id=result.id)
    assert (status.state, status.completed_steps, status.total_steps, status.attempts) == (
        "Succeeded",
        1,
        1,
        2,
    )
    assert stops() == ["Succeeded"]


def test_retries_exhausted(user: Any, eager: None):
    result = tasks.always_retried_task.delay(user.id, "Argument")
    status = UserTaskStatus.objects.get(task_id=result.id)
    assert (status.state, status.attempts) == ("Failed", 2)
    assert [a.text for a in status.artifacts.all()] == ["still broken"]
    assert stops() == ["Failed"]


@pytest.mark.parametrize("task", [tasks.normal_task, tasks.normal_failing_task, tasks.normal_retried_task])
def test_non_user_tasks_leave_no_trace(db: Any, eager: None, task: Any):
    task.delay("Argument")
    assert not UserTaskStatus.objects.exists()
    assert stops() == []


def test_non_user_task_success_returns_its_result(db: Any, eager: None):
    assert tasks.normal_task.delay("Argument").get() == "placeholder"


def test_eager_chain_runs_each_task_with_its_own_row(user: Any, eager: None):
    chain(tasks.step_task.si(user.id, "1"), tasks.step_task.si(user.id, "2")).delay()
    rows = list(UserTaskStatus.objects.values_list("name", "parent_id", "state").order_by("name"))
    assert rows == [("StepTask: 1", None, "Succeeded"), ("StepTask: 2", None, "Succeeded")]


def test_revoked_elsewhere_marks_the_status_canceled(user: Any):
    result = tasks.step_task.delay(user.id, "Argument")
    signals.task_was_revoked(sender=tasks.step_task, request=Context(id=result.id), terminated=False)
    assert UserTaskStatus.objects.get(task_id=result.id).state == "Canceled"
    signals.task_was_revoked(sender=tasks.step_task, request=Context(id=result.id), terminated=False)
    assert stops() == ["Canceled"]


def test_row_missing_at_run_time_is_created_from_the_request(user: Any, eager: None):
    tasks.step_task.apply_async((user.id, "lazy"), task_id="made-at-run-time")
    status = UserTaskStatus.objects.get(task_id="made-at-run-time")
    assert (status.name, status.state, status.task_class) == (
        "StepTask: lazy",
        "Succeeded",
        "tests.testapp.tasks.step_task",
    )


class TestConnectionClosing:
    @pytest.fixture
    def closed(self, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
        calls: list[bool] = []
        monkeypatch.setattr(signals, "close_old_connections", lambda: calls.append(True))
        return calls

    def test_closed_outside_a_transaction(self, user: Any, eager: None, closed: list[bool]):
        """Once, before the task starts, as Django does per request; not again before the final write."""
        tasks.step_task.delay(user.id, "Argument")
        assert closed == [True]

    def test_kept_inside_a_transaction(self, user: Any, eager: None, closed: list[bool]):
        with transaction.atomic():
            tasks.step_task.delay(user.id, "Argument")
        assert closed == []

    def test_kept_when_the_connection_cannot_be_checked(
        self, user: Any, eager: None, closed: list[bool], monkeypatch: pytest.MonkeyPatch
    ):
        def broken() -> Any:
            raise RuntimeError("no connection")

        monkeypatch.setattr(signals, "_status_connection", broken)
        signals._close_old_connections()
        assert closed == []


class TestLostConnection:
    """A connection that breaks is replaced for the status writes; a working one is neither checked
    again nor replaced before the final write."""

    @pytest.fixture
    def reconnects(self, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
        calls: list[bool] = []
        connection = transaction.get_connection()
        close = connection.close

        def spy() -> None:
            calls.append(True)
            close()

        monkeypatch.setattr(connection, "close", spy)
        return calls

    @staticmethod
    def break_once(monkeypatch: pytest.MonkeyPatch, state: str) -> None:
        """The first write of ``state`` finds the connection gone, as the database driver reports it."""
        connection = transaction.get_connection()
        broken: list[bool] = []

        def lose_connection(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            if not broken and sql.startswith("UPDATE") and state in (params or ()):
                broken.append(True)
                raise OperationalError("server closed the connection unexpectedly")
            return execute(sql, params, many, context)

        monkeypatch.setattr(connection, "execute_wrappers", [*connection.execute_wrappers, lose_connection])

    @pytest.mark.parametrize(("task", "state"), [("step_task", "Succeeded"), ("failing_task", "Failed")])
    def test_the_final_state_is_written_on_a_new_connection(
        self, user: Any, eager: None, reconnects: list[bool], monkeypatch: pytest.MonkeyPatch, task: str, state: str
    ):
        self.break_once(monkeypatch, state)
        result = getattr(tasks, task).delay(user.id, "Argument")
        assert UserTaskStatus.objects.get(task_id=result.id).state == state
        assert reconnects == [True]

    def test_start_is_written_on_a_new_connection(
        self, user: Any, eager: None, reconnects: list[bool], monkeypatch: pytest.MonkeyPatch
    ):
        self.break_once(monkeypatch, "In Progress")
        result = tasks.step_task.delay(user.id, "Argument")
        status = UserTaskStatus.objects.get(task_id=result.id)
        assert (status.state, status.attempts) == ("Succeeded", 1)
        assert reconnects == [True]

    def test_a_start_written_again_is_tracked_once(
        self, user: Any, reconnects: list[bool], monkeypatch: pytest.MonkeyPatch
    ):
        """The worker heartbeat forgets the task when it ends, even if its start was written twice."""
        from user_tasks_graphql.worker.heartbeat import heartbeat

        result = tasks.step_task.delay(user.id, "Argument")
        self.break_once(monkeypatch, "In Progress")
        task = tasks.step_task
        task.push_request(id=result.id, args=(user.id, "Argument"), kwargs={}, is_eager=False)
        try:
            signals.start_user_task(sender=task, task=task)
            pk = task.status.pk
            assert heartbeat.running().count(pk) == 1
            signals.stop_heartbeat(sender=task, task=task)
            assert pk not in heartbeat.running()
        finally:
            task.pop_request()
            heartbeat.stop()
        assert reconnects == [True]

    def test_a_working_connection_is_kept(self, user: Any, eager: None, reconnects: list[bool]):
        tasks.step_task.delay(user.id, "Argument")
        tasks.failing_task.delay(user.id, "Argument")
        assert reconnects == []

    def test_no_health_check_query(self, user: Any, eager: None, monkeypatch: pytest.MonkeyPatch):
        """``CONN_HEALTH_CHECKS`` adds no query to a task: the start's write checks the connection
        (a broken one is replaced and the write made again, tested above)."""
        connection = transaction.get_connection()
        assert connection.health_check_enabled
        checks: list[bool] = []
        is_usable = connection.is_usable
        monkeypatch.setattr(connection, "is_usable", lambda: checks.append(True) or is_usable())
        connection.ensure_connection()
        tasks.counting_task.delay(user.id, "Argument", total_steps=3)
        assert checks == []
        assert UserTaskStatus.objects.get().state == "Succeeded"

    def test_inside_a_transaction_the_error_is_raised(self, db: Any, reconnects: list[bool]):
        def lost() -> None:
            raise OperationalError("server closed the connection unexpectedly")

        with pytest.raises(OperationalError), transaction.atomic():
            signals._reconnecting(lost)
        assert reconnects == []


class TestFinalWrite:
    def test_waiting_steps_go_out_with_the_success(self, user: Any, eager: None, monkeypatch: pytest.MonkeyPatch):
        """A short task's counted steps are written with its final state: one write, one event."""
        published: list[tuple[str, int]] = []

        def record(events: Any) -> None:
            published.extend((event["state"], event["completed_steps"]) for event in events)

        monkeypatch.setattr("user_tasks_graphql.live.publisher.publisher.publish", record)
        tasks.counting_task.delay(user.id, "Argument", total_steps=5)
        assert published == [("Pending", 0), ("In Progress", 0), ("Succeeded", 5)]

    def test_steps_counted_after_a_cancel_are_not_written(self, user: Any, eager: None):
        result = tasks.quietly_canceled_task.delay(user.id, "Argument", total_steps=5)
        status = UserTaskStatus.objects.get(task_id=result.id)
        assert (status.state, status.completed_steps) == ("Canceled", 0)
        assert stops() == ["Canceled"]
