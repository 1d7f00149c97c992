"""What the import copies: django-user-tasks' rows, made through its own API, read back over our
GraphQL API field by field (every state, containers, parent links in any order, artifacts, files,
timestamps)."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client
from user_tasks.models import UserTaskArtifact as LegacyArtifact
from user_tasks.models import UserTaskStatus as LegacyStatus

from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

from .legacy import backdate, legacy_status, read_status, run_import, summary, timestamp

pytestmark = pytest.mark.django_db

CREATED = datetime.datetime(2023, 3, 4, 5, 6, 7, 123456, tzinfo=datetime.UTC)
MODIFIED = datetime.datetime(2023, 3, 4, 6, 7, 8, 654321, tzinfo=datetime.UTC)


@pytest.fixture
def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pending(user: Any) -> LegacyStatus:
    return legacy_status(user)


def in_progress(user: Any) -> LegacyStatus:
    status = legacy_status(user)
    status.start()
    status.increment_completed_steps(2)
    return status


def custom_state(user: Any) -> LegacyStatus:
    status = in_progress(user)
    status.set_state("Exporting section 3 of " + "x" * 100)  # 123 characters: its column holds 128
    return status


def retrying(user: Any) -> LegacyStatus:
    status = in_progress(user)
    status.retry()
    return status


def succeeded(user: Any) -> LegacyStatus:
    status = legacy_status(user, total_steps=4)
    status.start()
    status.increment_completed_steps(2)
    status.succeed()
    return status


def failed(user: Any) -> LegacyStatus:
    status = in_progress(user)
    status.fail("Boom")
    return status


def canceled(user: Any) -> LegacyStatus:
    status = in_progress(user)
    status.cancel()
    return status


CUSTOM = "Exporting section 3 of " + "x" * 100
# made through django-user-tasks' API; its stored state; our state, our stored text, the text over GraphQL
STATES: list[tuple[Callable[[Any], LegacyStatus], str, str, str, str]] = [
    (pending, "Pending", "PENDING", "", "Pending"),
    (in_progress, "In Progress", "IN_PROGRESS", "", "In Progress"),
    (custom_state, CUSTOM, "IN_PROGRESS", CUSTOM, CUSTOM),
    (retrying, "Retrying", "RETRYING", "", "Retrying"),
    (succeeded, "Succeeded", "SUCCEEDED", "", "Succeeded"),
    (failed, "Failed", "FAILED", "", "Failed"),
    (canceled, "Canceled", "CANCELED", "", "Canceled"),
]


@pytest.mark.parametrize(
    ("make", "stored", "state", "stored_text", "state_text"), STATES, ids=[row[0].__name__ for row in STATES]
)
def test_a_status_in_every_state_reads_back_field_by_field(
    user: Any,
    as_user: Client,
    make: Callable[[Any], LegacyStatus],
    stored: str,
    state: str,
    stored_text: str,
    state_text: str,
):
    legacy = make(user)
    backdate(legacy, CREATED, MODIFIED)
    assert legacy.state == stored

    assert summary(run_import()) == ["Statuses: 1 new, 0 already there, 0 skipped", *artifact_line(legacy)]

    node = read_status(as_user, legacy.uuid)
    assert {key: node[key] for key in node if key not in ("artifacts", "created", "modified")} == {
        "uuid": str(legacy.uuid),
        "taskId": legacy.task_id,
        "taskClass": "myproject.tasks.export",
        "name": "Export",
        "state": state,
        "stateText": state_text,
        "completedSteps": legacy.completed_steps,
        "totalSteps": legacy.total_steps,
        "attempts": legacy.attempts,
        "isContainer": False,
        "parent": None,
        "children": [],
    }
    assert (timestamp(node["created"]), timestamp(node["modified"])) == (CREATED, MODIFIED)
    ours = UserTaskStatus.objects.get(uuid=legacy.uuid)
    assert (ours.user_id, ours.state_text, ours.seq) == (user.pk, stored_text, 0)
    assert ours.finished == (MODIFIED if ours.is_finished else None), "finished at its last change"


def artifact_line(legacy: LegacyStatus) -> list[str]:
    count = legacy.artifacts.count()  # a failure's "Error" artifact
    return [f"Artifacts: {count} new, 0 already there, 0 skipped"]


def test_the_steps_and_attempts_django_user_tasks_counted_are_kept(user: Any, as_user: Client):
    legacy = legacy_status(user, total_steps=10)
    legacy.start()
    legacy.increment_completed_steps(3)
    legacy.increment_total_steps(5)
    legacy.retry()
    legacy.start()
    legacy.retry()
    legacy.set_name("Renamed export")
    run_import()
    node = read_status(as_user, legacy.uuid)
    assert (node["completedSteps"], node["totalSteps"], node["attempts"], node["name"]) == (3, 15, 3, "Renamed export")


def test_containers_keep_their_children_and_the_text_django_user_tasks_showed(user: Any, as_user: Client):
    chain = legacy_status(user, task_class="celery.chain", is_container=True, name="Chain", total_steps=0)
    first = legacy_status(user, parent=chain, name="Step 1", total_steps=1)
    second = legacy_status(user, parent=chain, name="Step 2", total_steps=1)
    chain.increment_total_steps(2)
    first.start()
    first.set_state("Halfway")  # a chain shows its child's text
    group = legacy_status(user, task_class="celery.group", is_container=True, name="Group", total_steps=1)
    member = legacy_status(user, parent=group, name="Member", total_steps=1)
    member.start()
    member.set_state("Member text")  # a group does not

    assert summary(run_import()) == [
        "Statuses: 5 new, 0 already there, 0 skipped",
        "Artifacts: 0 new, 0 already there, 0 skipped",
    ]

    node = read_status(as_user, chain.uuid)
    assert (node["isContainer"], node["taskClass"], node["state"], node["stateText"]) == (
        True,
        "celery.chain",
        "IN_PROGRESS",
        "Halfway",
    )
    assert (node["completedSteps"], node["totalSteps"]) == (0, 2)
    assert node["children"] == [{"uuid": str(first.uuid)}, {"uuid": str(second.uuid)}]
    assert read_status(as_user, first.uuid)["parent"] == {"uuid": str(chain.uuid)}
    assert read_status(as_user, second.uuid)["state"] == "PENDING"
    group_node = read_status(as_user, group.uuid)
    assert (group_node["state"], group_node["stateText"]) == ("IN_PROGRESS", "In Progress")
    assert group_node["children"] == [{"uuid": str(member.uuid)}]


@pytest.mark.parametrize("batch_size", ["1", "2", "1000"])
def test_parents_are_linked_whatever_their_order_in_the_source_table(user: Any, as_user: Client, batch_size: str):
    grandchild = legacy_status(user, name="Grandchild")
    child = legacy_status(user, name="Child", task_class="celery.group", is_container=True)
    loner = legacy_status(user, name="Loner")
    root = legacy_status(user, name="Root", task_class="celery.chord", is_container=True)
    LegacyStatus.objects.filter(pk=grandchild.pk).update(parent=child)
    LegacyStatus.objects.filter(pk=child.pk).update(parent=root)
    assert grandchild.pk < child.pk < root.pk  # each child comes before its parent

    assert summary(run_import("--batch-size", batch_size)) == [
        "Statuses: 4 new, 0 already there, 0 skipped",
        "Artifacts: 0 new, 0 already there, 0 skipped",
    ]

    assert read_status(as_user, root.uuid)["children"] == [{"uuid": str(child.uuid)}]
    assert read_status(as_user, child.uuid)["children"] == [{"uuid": str(grandchild.uuid)}]
    assert read_status(as_user, grandchild.uuid)["parent"] == {"uuid": str(child.uuid)}
    assert read_status(as_user, loner.uuid)["parent"] is None


def test_rows_that_cannot_be_copied_are_skipped_and_counted_by_reason(user: Any, as_user: Client):
    clash = legacy_status(user, name="Also tracked here")
    # the same Celery task already has a status of ours (a different uuid)
    UserTaskStatus.objects.create(user=user, task_id=clash.task_id, task_class="x", name="Ours", total_steps=1)
    orphan = legacy_status(user, parent=clash)
    LegacyArtifact.objects.create(status=clash, text="Its output")
    first, second = legacy_status(user, name="A"), legacy_status(user, name="B")
    LegacyStatus.objects.filter(pk=first.pk).update(parent=second)
    LegacyStatus.objects.filter(pk=second.pk).update(parent=first)  # a loop: neither can go first
    fine = legacy_status(user, name="Fine")

    assert summary(run_import()) == [
        "Statuses: 1 new, 0 already there, 4 skipped",
        "  3 skipped: its parent was not imported",
        "  1 skipped: its task id is already used by another status here (a different uuid)",
        "Artifacts: 0 new, 0 already there, 1 skipped",
        "  1 skipped: its status was not imported",
    ]
    assert set(UserTaskStatus.objects.values_list("name", flat=True)) == {"Ours", "Fine"}
    assert not UserTaskStatus.objects.filter(uuid__in=[orphan.uuid, first.uuid, second.uuid, clash.uuid]).exists()
    assert read_status(as_user, fine.uuid)["name"] == "Fine"


def test_artifacts_read_back_with_their_timestamps_and_the_same_stored_file(user: Any, as_user: Client):
    legacy = legacy_status(user)
    text = LegacyArtifact.objects.create(status=legacy, name="Report", text="Lorem ipsum")
    link = LegacyArtifact.objects.create(status=legacy, url="https://example.com/export.zip")
    stored = LegacyArtifact.objects.create(status=legacy, file=ContentFile(b"a,b\n1,2\n", name="export.csv"))
    for number, artifact in enumerate((text, link, stored)):
        backdate(artifact, CREATED + datetime.timedelta(hours=number), MODIFIED + datetime.timedelta(hours=number))
    files_before = stored_files()
    assert stored.file.name in files_before

    assert summary(run_import()) == [
        "Statuses: 1 new, 0 already there, 0 skipped",
        "Artifacts: 3 new, 0 already there, 0 skipped",
    ]

    assert stored_files() == files_before  # referenced, not copied
    assert UserTaskArtifact.objects.get(uuid=stored.uuid).file.name == stored.file.name
    artifacts = read_status(as_user, legacy.uuid)["artifacts"]
    assert [(node["uuid"], node["name"], node["text"], node["url"]) for node in artifacts] == [
        (str(text.uuid), "Report", "Lorem ipsum", ""),
        (str(link.uuid), "Output", "", "https://example.com/export.zip"),
        (str(stored.uuid), "Output", "", ""),
    ]
    for number, node in enumerate(artifacts):
        assert node["status"] == {"uuid": str(legacy.uuid)}
        assert timestamp(node["created"]) == CREATED + datetime.timedelta(hours=number)
        assert timestamp(node["modified"]) == MODIFIED + datetime.timedelta(hours=number)
    assert [node["fileUrl"] is None for node in artifacts] == [True, True, False]
    download = as_user.get(artifacts[2]["fileUrl"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"a,b\n1,2\n"


def stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(path.relative_to(root)).replace(os.sep, "/") for path in root.rglob("*") if path.is_file()}
