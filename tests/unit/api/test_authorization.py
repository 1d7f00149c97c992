"""The authorization matrix: every actor against every entry point, with nothing changed on refusal."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client

from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

from ..factories import make_status
from .helpers import Result, gql

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(user: Any) -> dict[str, Any]:
    status = make_status(user, name="SampleTask 2", state="Pending", total_steps=5)
    artifact = UserTaskArtifact(status=status, text="Lorem ipsum")
    artifact.file.save("secret.txt", ContentFile(b"secret"))
    return {"status": status, "artifact": artifact}


@pytest.fixture
def revoked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr("user_tasks_graphql.worker.signals.revoke_task", calls.append)
    return calls


def actor_client(kind: str, user: Any) -> Client:
    client = Client()
    if kind == "owner":
        client.force_login(user)
    elif kind == "other":
        client.force_login(get_user_model().objects.create_user("someone_else"))
    elif kind == "superuser":
        client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "x"))
    elif kind == "staff":
        client.force_login(get_user_model().objects.create_user("staffer", is_staff=True))
    return client


def q_status(c: Client, t: dict) -> Result:
    return gql(c, "query($u: UUID!) { userTaskStatus(uuid: $u) { name } }", {"u": str(t["status"].uuid)})


def q_statuses(c: Client, t: dict) -> Result:
    return gql(c, "{ userTaskStatuses { totalCount edges { node { name } } } }")


def q_artifact(c: Client, t: dict) -> Result:
    return gql(c, "query($u: UUID!) { userTaskArtifact(uuid: $u) { text } }", {"u": str(t["artifact"].uuid)})


def q_artifacts(c: Client, t: dict) -> Result:
    return gql(c, "{ userTaskArtifacts { totalCount edges { node { text } } } }")


def m_cancel(c: Client, t: dict) -> Result:
    return gql(c, "mutation($u: UUID!) { cancelUserTask(uuid: $u) { state } }", {"u": str(t["status"].uuid)})


def m_delete(c: Client, t: dict) -> Result:
    return gql(c, "mutation($u: UUID!) { deleteUserTask(uuid: $u) }", {"u": str(t["status"].uuid)})


SEEN = {
    q_status: {"userTaskStatus": {"name": "SampleTask 2"}},
    q_statuses: {"userTaskStatuses": {"totalCount": 1, "edges": [{"node": {"name": "SampleTask 2"}}]}},
    q_artifact: {"userTaskArtifact": {"text": "Lorem ipsum"}},
    q_artifacts: {"userTaskArtifacts": {"totalCount": 1, "edges": [{"node": {"text": "Lorem ipsum"}}]}},
}
HIDDEN = {
    q_status: {"userTaskStatus": None},
    q_statuses: {"userTaskStatuses": {"totalCount": 0, "edges": []}},
    q_artifact: {"userTaskArtifact": None},
    q_artifacts: {"userTaskArtifacts": {"totalCount": 0, "edges": []}},
}
READS: list[Callable[[Client, dict], Result]] = [q_status, q_statuses, q_artifact, q_artifacts]


def unchanged(t: dict) -> bool:
    return UserTaskStatus.objects.filter(pk=t["status"].pk, state="Pending").exists()


@pytest.mark.parametrize("read", READS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("actor", "expected"),
    [("owner", "seen"), ("superuser", "seen"), ("other", "hidden"), ("anonymous", "UNAUTHENTICATED")],
)
def test_reads(user: Any, target: dict, read: Callable, actor: str, expected: str):
    result = read(actor_client(actor, user), target)
    if expected == "UNAUTHENTICATED":
        assert result.codes == ["UNAUTHENTICATED"]
        assert result.data is None or not any(result.data.values()), "nothing may leak to an anonymous viewer"
    else:
        assert result.errors == []
        assert result.data == (SEEN if expected == "seen" else HIDDEN)[read]


@pytest.mark.parametrize(
    ("actor", "code"),
    [("owner", None), ("superuser", None), ("other", "NOT_FOUND"), ("anonymous", "UNAUTHENTICATED")],
)
def test_cancel(user: Any, target: dict, revoked: list, actor: str, code: str | None):
    result = m_cancel(actor_client(actor, user), target)
    if code is None:
        assert result.data == {"cancelUserTask": {"state": "CANCELED"}}
        assert UserTaskStatus.objects.get(pk=target["status"].pk).state == "Canceled"
    else:
        assert result.codes == [code]
        assert result.data is None
        assert unchanged(target)
        assert revoked == []


@pytest.mark.parametrize(
    ("actor", "code"),
    [("owner", None), ("superuser", None), ("other", "NOT_FOUND"), ("anonymous", "UNAUTHENTICATED")],
)
def test_delete(user: Any, target: dict, revoked: list, actor: str, code: str | None):
    result = m_delete(actor_client(actor, user), target)
    if code is None:
        assert result.data == {"deleteUserTask": str(target["status"].uuid)}
        assert not UserTaskStatus.objects.filter(pk=target["status"].pk).exists()
    else:
        assert result.codes == [code]
        assert unchanged(target)
        assert UserTaskArtifact.objects.filter(pk=target["artifact"].pk).exists()


@pytest.mark.parametrize(
    ("actor", "status_code"), [("owner", 200), ("superuser", 200), ("other", 404), ("anonymous", 403)]
)
def test_file_download(user: Any, target: dict, actor: str, status_code: int):
    response = actor_client(actor, user).get(f"/user-tasks/artifacts/{target['artifact'].uuid}/file/")
    assert response.status_code == status_code
    if status_code == 200:
        assert b"".join(response.streaming_content) == b"secret"
    else:
        assert b"secret" not in response.content


def test_missing_and_foreign_objects_look_the_same(user: Any, target: dict):
    other = actor_client("other", user)
    foreign = m_cancel(other, target)
    missing = gql(other, 'mutation { cancelUserTask(uuid: "00000000-0000-0000-0000-000000000000") { state } }')
    assert foreign.errors[0]["message"] == missing.errors[0]["message"]
    assert foreign.codes == missing.codes == ["NOT_FOUND"]


def test_visible_without_permission_to_act_is_forbidden(user: Any, target: dict, settings: Any, revoked: list):
    settings.USER_TASKS_VISIBLE_STATUSES = "tests.testapp.permissions.staff_see_all"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "tests.testapp.permissions.StaffViewBackend",
    ]
    staff = actor_client("staff", user)
    assert q_status(staff, target).data == SEEN[q_status]
    assert q_artifacts(staff, target).data == SEEN[q_artifacts]
    for mutation in (m_cancel, m_delete):
        result = mutation(staff, target)
        assert result.codes == ["FORBIDDEN"]
        assert unchanged(target)


def test_project_backend_can_take_actions_away_from_owners(user: Any, target: dict, settings: Any, revoked: list):
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "tests.testapp.permissions.ViewOnlyBackend",
    ]
    owner = actor_client("owner", user)
    assert q_status(owner, target).data == SEEN[q_status]
    assert m_cancel(owner, target).codes == ["FORBIDDEN"]
    assert m_delete(owner, target).codes == ["FORBIDDEN"]
    assert unchanged(target)


def test_inactive_user_is_unauthenticated(user: Any, target: dict):
    client = actor_client("owner", user)
    user.is_active = False
    user.save()
    assert q_status(client, target).codes == ["UNAUTHENTICATED"]
