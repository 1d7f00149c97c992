"""``started`` (the current attempt went In Progress) and ``finished`` (a final state was reached),
written with the change itself, on both write paths, read back over GraphQL."""

import datetime
import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.utils import timezone

from user_tasks_graphql.models import UserTaskStatus

from ..factories import make_status, reload

pytestmark = pytest.mark.django_db(transaction=True)  # outside a transaction: PostgreSQL's RETURNING path


@pytest.fixture(autouse=True)
def write_every_increment(settings: Any) -> None:
    settings.USER_TASKS_PROGRESS_INTERVAL = 0


def test_a_task_starts_then_finishes(user: Any):
    status = make_status(user, state=UserTaskStatus.PENDING)
    assert (status.started, status.finished) == (None, None)
    before = timezone.now()
    status.start()
    row = reload(status)
    assert row.started is not None
    assert before <= row.started <= timezone.now()
    assert row.finished is None
    assert status.started == row.started, "the instance holds what was written"
    status.succeed()
    done = reload(status)
    assert done.started == row.started, "success keeps the start"
    assert done.finished is not None
    assert row.started <= done.finished <= done.modified


def test_a_task_that_ends_before_its_start_was_written_started_as_it_ended(user: Any):
    status = make_status(user, state=UserTaskStatus.PENDING)
    status.succeed()
    row = reload(status)
    assert row.started == row.finished is not None


@pytest.mark.parametrize("end", ["fail", "cancel"])
def test_a_task_canceled_or_failed_while_waiting_never_started(user: Any, end: str, monkeypatch: Any):
    monkeypatch.setattr("user_tasks_graphql.worker.signals.revoke_task", lambda task_id: None)
    status = make_status(user, state=UserTaskStatus.PENDING)
    getattr(status, end)(*(["broken"] if end == "fail" else []))
    row = reload(status)
    assert row.started is None
    assert row.finished is not None


def test_progress_text_on_a_waiting_task_starts_it(user: Any):
    status = make_status(user, state=UserTaskStatus.PENDING)
    status.set_state("Reading")
    row = reload(status)
    assert (row.state, row.state_text) == (UserTaskStatus.IN_PROGRESS, "Reading")
    assert row.started is not None
    first = row.started
    status.set_state("Writing")
    assert reload(status).started == first, "a running task's start stays"


def test_a_new_attempt_starts_again(user: Any):
    status = make_status(user, state=UserTaskStatus.PENDING)
    status.start()
    first = reload(status).started
    status.start()  # delivered again after its worker was lost: a new attempt
    row = reload(status)
    assert row.attempts == 2
    assert row.started is not None
    assert first is not None
    assert row.started > first
    status.retry()
    assert reload(status).started == row.started, "waiting to retry: the last attempt's start"
    status.start()
    assert reload(status).started > row.started  # type: ignore[operator]


def test_both_are_in_the_api(user: Any):
    status = make_status(user, state=UserTaskStatus.PENDING)
    status.start()
    status.succeed()
    client = Client()
    client.force_login(user)
    query = "query($u: UUID!) { userTaskStatus(uuid: $u) { started finished } }"
    variables = {"u": str(status.uuid)}
    body = client.post("/graphql/", {"query": query, "variables": variables}, content_type="application/json").json()
    row = reload(status)
    assert row.started is not None
    assert row.finished is not None
    assert body == {
        "data": {"userTaskStatus": {"started": row.started.isoformat(), "finished": row.finished.isoformat()}}
    }


def test_the_migration_dates_rows_finished_before_it(user: Any):
    migration = importlib.import_module("user_tasks_graphql.migrations.0003_started_finished")
    done, running = make_status(user, state=UserTaskStatus.FAILED), make_status(user, state=UserTaskStatus.IN_PROGRESS)
    UserTaskStatus.objects.update(finished=None, modified=timezone.now() - datetime.timedelta(days=1))
    migration.finished_when_last_changed(apps, SimpleNamespace(connection=connection))
    assert reload(done).finished == reload(done).modified
    assert reload(running).finished is None
