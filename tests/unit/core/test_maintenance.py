"""Purging old statuses (with their files) and reaping tasks whose worker died."""

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from user_tasks_graphql.core.maintenance import purge_old_user_tasks, reap_stale_user_tasks
from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus
from user_tasks_graphql.tasks import purge_old_user_tasks as purge_task

from ..factories import make_container, make_status

pytestmark = pytest.mark.django_db(transaction=True)


def aged(status: UserTaskStatus, days: int) -> UserTaskStatus:
    UserTaskStatus.objects.filter(pk=status.pk).update(created=timezone.now() - timedelta(days=days))
    return status


def finished_with_artifact(user: Any, days: int) -> UserTaskStatus:
    status = make_status(user, state=UserTaskStatus.SUCCEEDED)
    UserTaskArtifact.objects.create(status=status, text="Lorem ipsum")
    return aged(status, days)


def test_old_data_is_purged(user: Any, eager: None):
    finished_with_artifact(user, 31)
    purge_task.delay()
    assert (UserTaskStatus.objects.count(), UserTaskArtifact.objects.count()) == (0, 0)


def test_recent_data_is_kept(user: Any):
    finished_with_artifact(user, 29)
    assert purge_old_user_tasks() == 0
    assert (UserTaskStatus.objects.count(), UserTaskArtifact.objects.count()) == (1, 1)


def test_mixed_data(user: Any):
    recent = finished_with_artifact(user, 29)
    finished_with_artifact(user, 31)
    assert purge_old_user_tasks() == 1
    assert list(UserTaskStatus.objects.values_list("pk", flat=True)) == [recent.pk]
    assert UserTaskArtifact.objects.get().status_id == recent.pk


def test_running_tasks_are_never_purged(user: Any):
    aged(make_status(user, state=UserTaskStatus.IN_PROGRESS), 90)
    group = aged(make_container(user, kind="group", state=UserTaskStatus.FAILED), 90)
    make_status(user, parent=group, state=UserTaskStatus.IN_PROGRESS)
    assert purge_old_user_tasks() == 0
    assert UserTaskStatus.objects.count() == 3


def test_purge_takes_children_and_stored_files(user: Any):
    group = aged(make_container(user, kind="group", state=UserTaskStatus.SUCCEEDED), 40)
    child = make_status(user, parent=group, state=UserTaskStatus.SUCCEEDED)
    artifact = UserTaskArtifact(status=child)
    artifact.file.save("report.csv", ContentFile(b"a,b\n1,2\n"))
    storage, name = artifact.file.storage, artifact.file.name
    assert storage.exists(name)
    assert purge_old_user_tasks() == 1
    assert not UserTaskStatus.objects.exists()
    assert not storage.exists(name), "the purge must not leave the artifact's file behind"


@pytest.mark.parametrize("setting", [timedelta(days=7), 7 * 24 * 3600])
def test_max_age_setting(user: Any, settings: Any, setting: Any):
    settings.USER_TASKS_MAX_AGE = setting
    finished_with_artifact(user, 8)
    finished_with_artifact(user, 6)
    assert purge_old_user_tasks() == 1


def test_management_command(user: Any):
    finished_with_artifact(user, 31)
    out = StringIO()
    call_command("purge_old_user_tasks", stdout=out)
    assert out.getvalue().strip() == "Purged 1 user task status(es)."


def stale(status: UserTaskStatus, seconds: float) -> UserTaskStatus:
    UserTaskStatus.objects.filter(pk=status.pk).update(modified=timezone.now() - timedelta(seconds=seconds))
    return status


def test_reaper_fails_silent_running_tasks_and_their_parents(user: Any, settings: Any):
    settings.USER_TASKS_STALE_AFTER = 60
    settings.USER_TASKS_HEARTBEAT_INTERVAL = 10
    chain = make_container(user, state=UserTaskStatus.IN_PROGRESS)
    dead = stale(make_status(user, parent=chain), 120)
    alive = stale(make_status(user), 30)
    queued = stale(make_status(user, state=UserTaskStatus.PENDING), 3600)
    assert reap_stale_user_tasks() == 1
    states = dict(UserTaskStatus.objects.values_list("pk", "state"))
    assert states == {chain.pk: "Failed", dead.pk: "Failed", alive.pk: "In Progress", queued.pk: "Pending"}
    error = UserTaskArtifact.objects.get(status=dead)
    assert error.name == "Error"
    assert "stopped responding" in error.text
    assert "0:01:00" in error.text


def test_reaper_management_command(user: Any, settings: Any):
    settings.USER_TASKS_STALE_AFTER = 60
    settings.USER_TASKS_HEARTBEAT_INTERVAL = 10
    stale(make_status(user), 120)
    out = StringIO()
    call_command("reap_stale_user_tasks", stdout=out)
    assert out.getvalue().strip() == "Failed 1 stale user task(s)."
