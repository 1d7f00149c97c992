"""Change points: what changed after a point, whatever the order of timestamps and commits, and the
tombstones that keep deletions for a resume."""

import datetime
import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from user_tasks_graphql.core.changes import MAX_CHANGES, Point, PointUnknown, changes_since, current_point
from user_tasks_graphql.core.maintenance import purge_old_tombstones, purge_old_user_tasks
from user_tasks_graphql.models import UserTaskStatus, UserTaskTombstone

from ..factories import make_waiting

POSTGRESQL = connection.vendor == "postgresql"


@pytest.fixture
def alice(db: Any) -> Any:
    return get_user_model().objects.create_user("alice")


def changed_names(since: Point | None, replay: bool = True) -> set[str]:
    changes = changes_since(since, UserTaskStatus.objects.all(), UserTaskTombstone.objects.all(), replay)
    return set(UserTaskStatus.objects.filter(pk__in=changes.status_ids).values_list("name", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_late_with_an_older_timestamp_is_not_skipped(alice: Any):
    """A writer stamps ``modified`` at t1 and commits after another writer's t2 > t1 has committed and
    a reader took its point in between: a watermark of the newest timestamp would skip it."""
    early, late = make_waiting(alice, "early"), make_waiting(alice, "late")
    old_stamp = timezone.now() - datetime.timedelta(minutes=5)
    written, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                UserTaskStatus.objects.filter(pk=early.pk).update(name="early, committed late", modified=old_stamp)
                written.set()
                release.wait(10)
        finally:
            close_old_connections()

    if POSTGRESQL:  # two connections, really concurrent
        writer = threading.Thread(target=slow_writer)
        writer.start()
        assert written.wait(10)
        UserTaskStatus.objects.filter(pk=late.pk).update(name="late, committed first")
        point = current_point()
        release.set()
        writer.join()
    else:  # SQLite lets one writer at a time: the late commit simply follows the point
        UserTaskStatus.objects.filter(pk=late.pk).update(name="late, committed first")
        point = current_point()
        UserTaskStatus.objects.filter(pk=early.pk).update(name="early, committed late", modified=old_stamp)
    newest = UserTaskStatus.objects.order_by("-modified").values_list("modified", flat=True).first()
    assert newest is not None
    assert old_stamp < newest, "the late commit carries the older timestamp"

    assert "early, committed late" in changed_names(point)
    if POSTGRESQL:
        assert changed_names(point) == {"early, committed late"}, "what the point saw is not sent again"


@pytest.mark.django_db(transaction=True)
def test_rows_changed_or_created_after_the_point_and_only_those(alice: Any):
    kept, touched = make_waiting(alice, "kept"), make_waiting(alice, "touched")
    point = current_point()
    UserTaskStatus.objects.filter(pk=touched.pk).update(state_text="x")
    make_waiting(alice, "new")
    expected = {"touched", "new"} | ({"kept"} if not POSTGRESQL else set())
    assert changed_names(point) == expected
    assert changed_names(None) == set(), "no point: nothing to replay"
    assert kept.pk


@pytest.mark.django_db(transaction=True)
def test_a_newer_point_without_replay_sends_rows_only_on_postgresql(alice: Any):
    point = current_point()
    make_waiting(alice, "new")
    changes = changes_since(point, UserTaskStatus.objects.all(), UserTaskTombstone.objects.all(), replay=False)
    assert len(changes.status_ids) == (1 if POSTGRESQL else 0), "SQLite resumes send every row anyway"
    later = changes_since(changes.point, UserTaskStatus.objects.all(), UserTaskTombstone.objects.all(), True)
    assert later.status_ids == [] or not POSTGRESQL


@pytest.mark.django_db(transaction=True)
def test_deletions_after_the_point_come_back_as_tombstones(alice: Any):
    before = make_waiting(alice, "deleted before")
    before.delete()
    point = current_point()
    after = make_waiting(alice, "deleted after")
    after.delete()
    changes = changes_since(point, UserTaskStatus.objects.all(), UserTaskTombstone.objects.all(), True)
    assert changes.deletions == [after.uuid]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_delete_leaves_no_tombstone(alice: Any):
    task = make_waiting(alice, "kept")
    pk = task.pk

    def delete_then_fail() -> None:
        with transaction.atomic():
            task.delete()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        delete_then_fail()
    assert not UserTaskTombstone.objects.exists()
    assert UserTaskStatus.objects.filter(pk=pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_deleted_user_leaves_tombstones_of_their_statuses(alice: Any):
    task = make_waiting(alice, "owned")
    point = current_point()
    alice.delete()
    changes = changes_since(point, UserTaskStatus.objects.all(), UserTaskTombstone.objects.all(), True)
    assert changes.deletions == [task.uuid]


@pytest.mark.django_db(transaction=True)
def test_a_point_from_another_database_is_refused(alice: Any):
    foreign = Point(0.0, snapshot=None if POSTGRESQL else "1:1:")
    with pytest.raises(PointUnknown):
        changes_since(foreign, UserTaskStatus.objects.all(), UserTaskTombstone.objects.all(), True)
    if POSTGRESQL:  # a snapshot from the future: another server's, or before a restore
        with pytest.raises(PointUnknown):
            changes_since(Point(0.0, snapshot="4000000000:4000000000:"), UserTaskStatus.objects.all(),
                          UserTaskTombstone.objects.all(), True)  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_too_many_changes_since_the_point_is_refused(alice: Any, monkeypatch: Any):
    monkeypatch.setattr("user_tasks_graphql.core.changes.MAX_CHANGES", 2)
    point = current_point()
    for name in ("a", "b", "c"):
        make_waiting(alice, name)
    with pytest.raises(PointUnknown, match="Over 2 changes"):
        changes_since(point, UserTaskStatus.objects.all(), UserTaskTombstone.objects.all(), True)
    assert MAX_CHANGES > 2


@pytest.mark.django_db(transaction=True)
def test_the_purge_keeps_tombstones_a_valid_watermark_may_need(alice: Any, settings: Any):
    settings.USER_TASKS_WATERMARK_RETENTION = datetime.timedelta(hours=2)
    for name in ("old", "recent"):
        make_waiting(alice, name).delete()
    UserTaskTombstone.objects.filter(pk=UserTaskTombstone.objects.order_by("pk").first().pk).update(  # type: ignore[union-attr]
        deleted=timezone.now() - datetime.timedelta(hours=3, minutes=1)
    )
    UserTaskTombstone.objects.exclude(deleted__lt=timezone.now() - datetime.timedelta(hours=1)).update(
        deleted=timezone.now() - datetime.timedelta(hours=2, minutes=59)
    )
    assert purge_old_tombstones() == 1, "retention plus an hour"
    assert UserTaskTombstone.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_statuses_the_purge_deletes_leave_tombstones(alice: Any, settings: Any):
    settings.USER_TASKS_MAX_AGE = datetime.timedelta(days=1)
    old = make_waiting(alice, "old")
    old.succeed()
    UserTaskStatus.objects.filter(pk=old.pk).update(created=timezone.now() - datetime.timedelta(days=2))
    point = current_point()
    assert purge_old_user_tasks() == 1
    changes = changes_since(point, UserTaskStatus.objects.all(), UserTaskTombstone.objects.all(), True)
    assert changes.deletions == [old.uuid]
