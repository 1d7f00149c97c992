"""How the import runs: once per row however often it is run, a dry run that writes nothing,
batches that each commit, progress, no live events or stop signals for history, a clear error
without django-user-tasks' tables, and both apps side by side."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import connection
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from user_tasks.models import UserTaskArtifact as LegacyArtifact
from user_tasks.models import UserTaskStatus as LegacyStatus

from user_tasks_graphql import user_task_stopped
from user_tasks_graphql.core.importing import STORAGE_WARNING
from user_tasks_graphql.core.legacy_tables import LegacyTables
from user_tasks_graphql.core.maintenance import reap_stale_user_tasks
from user_tasks_graphql.core.signals import statuses_changed
from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

from .legacy import backdate, legacy_status, run_import, summary


def history(user: Any) -> list[LegacyStatus]:
    """A finished chain (its child before it in the table), a failure, a running task, a clash."""
    child = legacy_status(user, name="Step")
    chain = legacy_status(user, task_class="celery.chain", is_container=True, name="Chain", total_steps=1)
    LegacyStatus.objects.filter(pk=child.pk).update(parent=chain)
    child.refresh_from_db()
    child.start()
    child.succeed()
    LegacyArtifact.objects.create(status=child, text="Done")
    failing = legacy_status(user, name="Failing")
    failing.start()
    failing.fail("Boom")
    running = legacy_status(user, name="Running")
    running.start()
    running.set_state("Sending e-mails")
    clash = legacy_status(user, name="Clash")
    UserTaskStatus.objects.create(user=user, task_id=clash.task_id, task_class="x", name="Ours", total_steps=1)
    return [child, chain, failing, running]


WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|SAVEPOINT|CREATE|ALTER|DROP)\b", re.IGNORECASE)
FIRST_RUN = [
    "Statuses: 4 new, 0 already there, 1 skipped",
    "  1 skipped: its task id is already used by another status here (a different uuid)",
    "Artifacts: 2 new, 0 already there, 0 skipped",
]


@pytest.mark.django_db
def test_a_second_run_copies_nothing_twice_and_a_later_one_only_the_new_rows(user: Any):
    history(user)
    assert summary(run_import()) == FIRST_RUN
    counts = (UserTaskStatus.objects.count(), UserTaskArtifact.objects.count())

    assert summary(run_import()) == [
        "Statuses: 0 new, 4 already there, 1 skipped",
        "  1 skipped: its task id is already used by another status here (a different uuid)",
        "Artifacts: 0 new, 2 already there, 0 skipped",
    ]
    assert (UserTaskStatus.objects.count(), UserTaskArtifact.objects.count()) == counts

    later = legacy_status(user, name="Later")
    LegacyArtifact.objects.create(status=later, text="New")
    assert summary(run_import())[::2] == [
        "Statuses: 1 new, 4 already there, 1 skipped",
        "Artifacts: 1 new, 2 already there, 0 skipped",
    ]
    assert UserTaskStatus.objects.filter(name="Later").count() == 1


@pytest.mark.django_db
def test_a_dry_run_writes_nothing_and_reports_what_the_import_then_does(user: Any):
    history(user)
    before = (UserTaskStatus.objects.count(), UserTaskArtifact.objects.count())
    with CaptureQueriesContext(connection) as queries:
        dry = run_import("--dry-run")
    assert summary(dry) == ["Dry run: nothing was written; an import would give these counts.", *FIRST_RUN]
    written = [query["sql"] for query in queries if WRITES.match(query["sql"])]
    assert written == []
    assert (UserTaskStatus.objects.count(), UserTaskArtifact.objects.count()) == before
    with CaptureQueriesContext(connection) as queries:
        assert summary(run_import()) == FIRST_RUN
    assert any(WRITES.match(query["sql"]) for query in queries)  # what the dry run did not do


@pytest.mark.django_db
def test_each_batch_commits_on_its_own_so_an_interrupted_import_resumes(user: Any, monkeypatch: pytest.MonkeyPatch):
    for number in range(5):
        legacy_status(user, name=f"Task {number}")
    bulk_create = QuerySet.bulk_create
    calls = []

    def failing_second_batch(self: QuerySet[Any], objs: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(objs))
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return bulk_create(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", failing_second_batch)
    with pytest.raises(RuntimeError, match="went away"):
        run_import("--batch-size", "2")
    assert sorted(UserTaskStatus.objects.values_list("name", flat=True)) == ["Task 0", "Task 1"]

    monkeypatch.setattr(QuerySet, "bulk_create", bulk_create)
    assert summary(run_import("--batch-size", "2"))[0] == "Statuses: 3 new, 2 already there, 0 skipped"
    assert UserTaskStatus.objects.count() == 5


@pytest.mark.django_db
def test_large_tables_are_read_in_batches_with_progress(user: Any, monkeypatch: pytest.MonkeyPatch):
    LegacyStatus.objects.bulk_create(
        LegacyStatus(user=user, task_id=f"task-{number}", task_class="t", name=f"Task {number}", total_steps=1)
        for number in range(2500)
    )
    LegacyArtifact.objects.create(status=LegacyStatus.objects.get(task_id="task-7"), text="Seven")
    read: list[int] = []
    for method in ("statuses_after", "artifacts_after"):
        original = getattr(LegacyTables, method)

        def recording(self: LegacyTables, *args: Any, _original: Any = original) -> Any:
            rows = _original(self, *args)
            read.append(len(rows))
            return rows

        monkeypatch.setattr(LegacyTables, method, recording)

    output = run_import()

    assert output == [
        "Statuses: 1000 of 2500 read",
        "Statuses: 2000 of 2500 read",
        "Statuses: 2500 of 2500 read",
        "Artifacts: 1 of 1 read",
        "Statuses: 2500 new, 0 already there, 0 skipped",
        "Artifacts: 1 new, 0 already there, 0 skipped",
    ]
    assert read == [1000, 1000, 500, 0, 1, 0]  # never more than a batch in memory
    assert UserTaskStatus.objects.count() == 2500
    assert UserTaskArtifact.objects.get().status.task_id == "task-7"


@pytest.mark.django_db
def test_verbosity_zero_prints_the_summary_without_progress(user: Any):
    legacy_status(user)
    assert run_import(verbosity=0) == [
        "Statuses: 1 new, 0 already there, 0 skipped",
        "Artifacts: 0 new, 0 already there, 0 skipped",
    ]


@pytest.fixture
def announcements() -> Iterator[list[str]]:
    """Every model signal, live event and stop signal sent while the fixture is active."""
    heard: list[str] = []

    def record(name: str) -> Any:
        def receiver(sender: Any, **kwargs: Any) -> None:
            heard.append(f"{name} {getattr(sender, '__name__', sender)}")

        return receiver

    receivers = [(signal, record(name)) for name, signal in SIGNALS.items()]
    for signal, receiver in receivers:
        signal.connect(receiver, weak=False)
    yield heard
    for signal, receiver in receivers:
        signal.disconnect(receiver)


SIGNALS = {
    "post_save": post_save,
    "post_delete": post_delete,
    "statuses_changed": statuses_changed,
    "user_task_stopped": user_task_stopped,
}


@pytest.mark.django_db
def test_history_publishes_no_live_event_and_sends_no_stop_signal(
    user: Any, announcements: list[str], django_capture_on_commit_callbacks: Any
):
    history(user)
    announcements.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert summary(run_import()) == FIRST_RUN
    assert callbacks == []  # nothing waits for the commit to publish
    assert announcements == []
    # the recording works: a status saved the ordinary way is announced
    with django_capture_on_commit_callbacks(execute=True):
        UserTaskStatus.objects.create(user=user, task_id="ordinary", task_class="t", name="Ordinary", total_steps=1)
    assert announcements == ["post_save UserTaskStatus", "statuses_changed UserTaskStatus"]


@pytest.mark.django_db
def test_a_storage_alias_django_user_tasks_ignored_is_pointed_out(user: Any, settings: Any):
    legacy = legacy_status(user)
    LegacyArtifact.objects.create(status=legacy, file="user_tasks/2023/03/04/export.csv")
    settings.STORAGES = {
        **settings.STORAGES,
        "user_task_artifacts": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    assert summary(run_import())[-1] == STORAGE_WARNING


@pytest.mark.django_db(transaction=True)
def test_missing_tables_stop_the_import_with_what_to_do():
    call_command("migrate", "user_tasks", "zero", verbosity=0)
    try:
        with pytest.raises(CommandError) as missing:
            run_import()
        assert str(missing.value) == (
            "django-user-tasks' tables are missing from database 'default' (user_tasks_usertaskstatus, "
            "user_tasks_usertaskartifact): 'user_tasks' is installed but not migrated here; run "
            "`manage.py migrate user_tasks` first."
        )
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE user_tasks_usertaskstatus (id integer PRIMARY KEY, uuid char(32))")
            cursor.execute("CREATE TABLE user_tasks_usertaskartifact (id integer PRIMARY KEY)")
        try:
            with pytest.raises(CommandError) as other:
                run_import("--dry-run")
            assert str(other.value) == (
                "django-user-tasks' table user_tasks_usertaskstatus in database 'default' has no column user_id, "
                "task_id, parent_id, is_container, task_class, name, state, completed_steps, total_steps, attempts, "
                "created, modified: it is not the table its migrations make, so nothing was imported."
            )
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE user_tasks_usertaskstatus")
                cursor.execute("DROP TABLE user_tasks_usertaskartifact")
    finally:
        call_command("migrate", "user_tasks", verbosity=0)


def test_both_apps_side_by_side_pass_the_checks_with_the_reverse_accessor_clash_silenced():
    call_command("check")  # tests.settings_importing silences fields.E304, as docs/migrating.md says
    with override_settings(SILENCED_SYSTEM_CHECKS=[]), pytest.raises(SystemCheckError) as failed:
        call_command("check")
    assert "fields.E304" in str(failed.value)
    assert "User.usertaskstatus_set" in str(failed.value)


@pytest.mark.django_db
def test_a_task_imported_while_running_is_failed_by_the_reaper_once_stale(user: Any):
    legacy = legacy_status(user, name="Left running")
    legacy.start()
    legacy.set_state("Sending e-mails")
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    backdate(legacy, an_hour_ago, an_hour_ago)  # older than USER_TASKS_STALE_AFTER (10 minutes here)
    run_import()

    assert reap_stale_user_tasks() == 1
    ours = UserTaskStatus.objects.get(uuid=legacy.uuid)
    assert ours.state == UserTaskStatus.FAILED
    assert ours.artifacts.get().name == "Error"
