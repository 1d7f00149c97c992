"""Every field of the contract's query types, read back from real rows."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from strawberry import relay

from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

from ..factories import make_container, make_status
from .helpers import ARTIFACT_FIELDS, STATUS_FIELDS, gql

pytestmark = pytest.mark.django_db


def test_status_with_every_field(as_user: Client, user: Any):
    chain = make_container(user, name="Export chain", total_steps=4, completed_steps=1)
    status = make_status(user, parent=chain, name="Export", total_steps=4, completed_steps=1, state_text="Step 2")
    UserTaskArtifact.objects.create(status=status, text="partial")
    result = gql(
        as_user,
        f"""query($uuid: UUID!) {{ userTaskStatus(uuid: $uuid) {{ {STATUS_FIELDS}
        parent {{ uuid name isContainer taskClass }} children {{ uuid }}
        artifacts {{ {ARTIFACT_FIELDS} status {{ uuid }} }}
    }} }}""",
        {"uuid": str(status.uuid)},
    )
    assert result.errors == []
    node = result.data["userTaskStatus"]
    assert relay.GlobalID.from_id(node["id"]) == relay.GlobalID("UserTaskStatus", str(status.uuid))
    assert node["uuid"] == str(status.uuid)
    assert (node["taskId"], node["taskClass"], node["name"]) == (status.task_id, status.task_class, "Export")
    assert (node["state"], node["stateText"]) == ("IN_PROGRESS", "Step 2")
    assert (node["completedSteps"], node["totalSteps"], node["percentComplete"]) == (1, 4, 25.0)
    assert (node["attempts"], node["isContainer"], node["isFinished"]) == (1, False, False)
    assert node["created"] == status.created.isoformat()
    assert node["modified"] == UserTaskStatus.objects.get(pk=status.pk).modified.isoformat()
    assert node["parent"] == {
        "uuid": str(chain.uuid),
        "name": "Export chain",
        "isContainer": True,
        "taskClass": "celery.chain",
    }
    assert node["children"] == []
    [artifact] = node["artifacts"]
    assert (artifact["name"], artifact["text"], artifact["url"], artifact["fileUrl"]) == (
        "Output",
        "partial",
        "",
        None,
    )
    assert artifact["status"] == {"uuid": str(status.uuid)}


def test_container_lists_children_oldest_first(as_user: Client, user: Any):
    group = make_container(user, kind="group")
    first = make_status(user, parent=group, name="first")
    second = make_status(user, parent=group, name="second")
    result = gql(
        as_user,
        "query($u: UUID!) { userTaskStatus(uuid: $u) { isContainer children { name parent { uuid } } } }",
        {"u": str(group.uuid)},
    )
    assert result.data["userTaskStatus"]["children"] == [
        {"name": first.name, "parent": {"uuid": str(group.uuid)}},
        {"name": second.name, "parent": {"uuid": str(group.uuid)}},
    ]


@pytest.mark.parametrize(
    ("state", "text", "shown", "finished"),
    [
        ("Succeeded", "Step 9", "Succeeded", True),
        ("Canceled", "", "Canceled", True),
        ("Retrying", "", "Retrying", False),
    ],
)
def test_state_text_and_finished(as_user: Client, user: Any, state: str, text: str, shown: str, finished: bool):
    status = make_status(user, state=state, state_text=text, total_steps=0)
    node = gql(
        as_user,
        "query($u: UUID!) { userTaskStatus(uuid: $u) { state stateText isFinished percentComplete } }",
        {"u": str(status.uuid)},
    ).data["userTaskStatus"]
    assert (node["stateText"], node["isFinished"]) == (shown, finished)
    assert node["state"] == state.upper()
    assert node["percentComplete"] == (100.0 if state == "Succeeded" else 0.0)


def test_missing_status_is_null(as_user: Client):
    result = gql(as_user, "query($u: UUID!) { userTaskStatus(uuid: $u) { name } }", {"u": str(uuid.uuid4())})
    assert (result.data, result.errors) == ({"userTaskStatus": None}, [])


def test_artifact_with_every_field_and_a_file(as_user: Client, user: Any):
    status = make_status(user)
    artifact = UserTaskArtifact(status=status, name="Report")
    artifact.file.save("report.csv", ContentFile(b"a,b\n"))
    url_artifact = UserTaskArtifact.objects.create(status=status, url="https://example.com/export.csv")
    result = gql(
        as_user,
        f"query($u: UUID!, $v: UUID!) {{ a: userTaskArtifact(uuid: $u) {{ {ARTIFACT_FIELDS} status {{ uuid }} }}"
        f" b: userTaskArtifact(uuid: $v) {{ url fileUrl }} }}",
        {"u": str(artifact.uuid), "v": str(url_artifact.uuid)},
    )
    node = result.data["a"]
    assert relay.GlobalID.from_id(node["id"]) == relay.GlobalID("UserTaskArtifact", str(artifact.uuid))
    assert (node["uuid"], node["name"], node["text"], node["url"]) == (str(artifact.uuid), "Report", "", "")
    assert node["fileUrl"] == f"/user-tasks/artifacts/{artifact.uuid}/file/"
    assert node["status"] == {"uuid": str(status.uuid)}
    assert node["created"]
    assert node["modified"]
    assert result.data["b"] == {"url": "https://example.com/export.csv", "fileUrl": None}
    download = as_user.get(node["fileUrl"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"a,b\n"


def test_artifact_list_newest_first_and_by_status(as_user: Client, user: Any):
    first, second = make_status(user), make_status(user)
    older = UserTaskArtifact.objects.create(status=first, text="older")
    UserTaskArtifact.objects.filter(pk=older.pk).update(created=timezone.now() - timedelta(minutes=1))
    UserTaskArtifact.objects.create(status=second, text="newer")
    query = "query($s: UUID) { userTaskArtifacts(statusUuid: $s) { totalCount edges { cursor node { text } } } }"
    everything = gql(as_user, query).data["userTaskArtifacts"]
    assert [e["node"]["text"] for e in everything["edges"]] == ["newer", "older"]
    assert everything["totalCount"] == 2
    only_first = gql(as_user, query, {"s": str(first.uuid)}).data["userTaskArtifacts"]
    assert [e["node"]["text"] for e in only_first["edges"]] == ["older"]


def _page_query_count(client: Client, size: int) -> int:
    query = f"""{{ userTaskStatuses(first: {size}) {{ totalCount edges {{ node {{ name parent {{ name }}
        children {{ name }} artifacts {{ text }} }} }} }} }}"""
    with CaptureQueriesContext(connection) as captured:
        result = gql(client, query)
    assert result.errors == []
    assert len(result.data["userTaskStatuses"]["edges"]) == size
    return sum("user_tasks_graphql_" in q["sql"] for q in captured.captured_queries)


def test_sql_queries_do_not_grow_with_the_page(as_superuser: Client, user: Any):
    for i in range(100):
        chain = make_container(user, name=f"chain {i}")
        child = make_status(user, parent=chain)
        UserTaskArtifact.objects.create(status=chain, text="a")
        UserTaskArtifact.objects.create(status=child, text="b")
    small, large = _page_query_count(as_superuser, 1), _page_query_count(as_superuser, 100)
    assert small == large <= 4, f"a page of 1 took {small} queries, a page of 100 took {large}"


class SigningStorage:
    """Stands in for S3: its URLs are signed and expire, so the API hands them out as they are."""

    def url(self, name: str) -> str:
        return f"https://bucket.example/{name}?X-Amz-Signature=abc"


def test_file_url_from_a_signing_storage(as_user: Client, user: Any, monkeypatch: pytest.MonkeyPatch):
    from django.core.files.storage import InMemoryStorage

    storage = InMemoryStorage()
    monkeypatch.setattr(storage, "url", SigningStorage().url)
    field = UserTaskArtifact._meta.get_field("file")
    monkeypatch.setattr(field, "storage", storage)
    status = make_status(user)
    artifact = UserTaskArtifact(status=status)
    artifact.file.save("report.csv", ContentFile(b"x"))
    result = gql(as_user, "query($u: UUID!) { userTaskArtifact(uuid: $u) { fileUrl } }", {"u": str(artifact.uuid)})
    assert (
        result.data["userTaskArtifact"]["fileUrl"] == f"https://bucket.example/{artifact.file.name}?X-Amz-Signature=abc"
    )
