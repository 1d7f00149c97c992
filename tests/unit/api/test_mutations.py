"""cancelUserTask and deleteUserTask: what they change, and that they are idempotent."""

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

from ..factories import make_container, make_status
from .helpers import gql

pytestmark = pytest.mark.django_db(transaction=True)

CANCEL = "mutation($u: UUID!) { cancelUserTask(uuid: $u) { uuid state isFinished children { state } } }"
DELETE = "mutation($u: UUID!) { deleteUserTask(uuid: $u) }"


@pytest.fixture
def revoked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr("user_tasks_graphql.worker.signals.revoke_task", calls.append)
    return calls


def test_cancel_is_idempotent(as_user: Client, user: Any, revoked: list[str]):
    status = make_status(user, state="Pending")
    first = gql(as_user, CANCEL, {"u": str(status.uuid)})
    second = gql(as_user, CANCEL, {"u": str(status.uuid)})
    assert (
        first.data
        == second.data
        == {
            "cancelUserTask": {
                "uuid": str(status.uuid),
                "state": "CANCELED",
                "isFinished": True,
                "children": [],
            }
        }
    )
    assert revoked == [status.task_id], "a pending task is revoked once"


def test_cancel_finished_task_returns_it_unchanged(as_user: Client, user: Any, revoked: list[str]):
    status = make_status(user, state="Succeeded")
    result = gql(as_user, CANCEL, {"u": str(status.uuid)})
    assert result.data["cancelUserTask"]["state"] == "SUCCEEDED"
    assert revoked == []


def test_cancel_container_cancels_children(as_user: Client, user: Any, revoked: list[str]):
    group = make_container(user, kind="group")
    queued = make_status(user, parent=group, state="Pending")
    running = make_status(user, parent=group, state="In Progress")
    done = make_status(user, parent=group, state="Succeeded")
    result = gql(as_user, CANCEL, {"u": str(group.uuid)})
    assert result.data["cancelUserTask"]["state"] == "CANCELED"
    assert [c["state"] for c in result.data["cancelUserTask"]["children"]] == [
        "CANCELED",
        "CANCELED",
        "SUCCEEDED",
    ]
    assert revoked == [queued.task_id]
    assert UserTaskStatus.objects.get(pk=running.pk).state == "Canceled"
    assert UserTaskStatus.objects.get(pk=done.pk).state == "Succeeded"


def test_delete_takes_children_artifacts_and_files(as_user: Client, user: Any, revoked: list[str]):
    group = make_container(user, kind="group", state="Succeeded")
    child = make_status(user, parent=group, state="Succeeded")
    artifact = UserTaskArtifact(status=child)
    artifact.file.save("out.csv", ContentFile(b"1,2"))
    storage, name = artifact.file.storage, artifact.file.name
    result = gql(as_user, DELETE, {"u": str(group.uuid)})
    assert result.data == {"deleteUserTask": str(group.uuid)}
    assert not UserTaskStatus.objects.exists()
    assert not UserTaskArtifact.objects.exists()
    assert not storage.exists(name)


def test_delete_running_task_cancels_it_first(as_user: Client, user: Any, revoked: list[str]):
    from tests.testapp.models import StoppedSignal

    status = make_status(user, state="Pending")
    gql(as_user, DELETE, {"u": str(status.uuid)})
    assert revoked == [status.task_id], "the queued message must not run for a deleted status"
    assert list(StoppedSignal.objects.values_list("state", flat=True)) == ["Canceled"]
    assert not UserTaskStatus.objects.exists()


def test_delete_twice_is_not_found(as_user: Client, user: Any):
    status = make_status(user, state="Succeeded")
    assert gql(as_user, DELETE, {"u": str(status.uuid)}).errors == []
    assert gql(as_user, DELETE, {"u": str(status.uuid)}).codes == ["NOT_FOUND"]
