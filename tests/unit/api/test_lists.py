"""The status list: filters, ordering and keyset pagination."""

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from strawberry import relay

from user_tasks_graphql.models import UserTaskStatus

from ..factories import make_container, make_status
from .helpers import gql

pytestmark = pytest.mark.django_db

LIST = """query($f: UserTaskStatusFilter, $first: Int, $after: String, $last: Int, $before: String) {
  userTaskStatuses(filters: $f, first: $first, after: $after, last: $last, before: $before) {
    totalCount edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def names(client: Client, **variables: Any) -> list[str]:
    result = gql(client, LIST, variables)
    assert result.errors == [], result.errors
    return [edge["node"]["name"] for edge in result.data["userTaskStatuses"]["edges"]]


@pytest.fixture
def tasks(user: Any) -> dict[str, UserTaskStatus]:
    now = timezone.now()
    rows = {
        "export pending": make_status(user, name="Export pending", state="Pending", task_class="app.export"),
        "import running": make_status(user, name="Import running", state="In Progress", task_class="app.import"),
        "export done": make_status(user, name="Export done", state="Succeeded", task_class="app.export"),
        "report failed": make_status(user, name="Report failed", state="Failed", task_class="app.report"),
    }
    for age, row in enumerate(rows.values()):
        UserTaskStatus.objects.filter(pk=row.pk).update(created=now - timedelta(minutes=age))
    chain = rows["report failed"]
    make_status(user, parent=chain, name="Child of report", state="Failed", task_class="app.report")
    return {key: UserTaskStatus.objects.get(pk=row.pk) for key, row in rows.items()}


def test_newest_first_top_level_by_default(as_user: Client, tasks: dict):
    assert names(as_user) == ["Export pending", "Import running", "Export done", "Report failed"]


def test_top_level_false_includes_children(as_user: Client, tasks: dict):
    assert "Child of report" in names(as_user, f={"topLevel": False})
    assert "Child of report" not in names(as_user, f={"topLevel": None})


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"state": ["PENDING", "SUCCEEDED"]}, ["Export pending", "Export done"]),
        ({"state": []}, []),
        ({"nameContains": "EXPORT"}, ["Export pending", "Export done"]),
        ({"taskClass": "app.import"}, ["Import running"]),
        ({"active": True}, ["Export pending", "Import running"]),
        ({"active": False}, ["Export done", "Report failed"]),
        ({"active": False, "nameContains": "report"}, ["Report failed"]),
    ],
)
def test_filters(as_user: Client, tasks: dict, filters: dict, expected: list[str]):
    assert names(as_user, f=filters) == expected


def test_created_bounds_are_exclusive(as_user: Client, tasks: dict):
    done = tasks["export done"].created.isoformat()
    assert names(as_user, f={"createdAfter": done}) == ["Export pending", "Import running"]
    assert names(as_user, f={"createdBefore": done}) == ["Report failed"]


def test_forward_pages(as_user: Client, tasks: dict):
    first = gql(as_user, LIST, {"first": 3}).data["userTaskStatuses"]
    assert first["totalCount"] == 4
    assert [e["node"]["name"] for e in first["edges"]] == ["Export pending", "Import running", "Export done"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    second = gql(as_user, LIST, {"first": 3, "after": first["pageInfo"]["endCursor"]}).data["userTaskStatuses"]
    assert [e["node"]["name"] for e in second["edges"]] == ["Report failed"]
    assert (second["pageInfo"]["hasNextPage"], second["pageInfo"]["hasPreviousPage"]) == (False, True)
    assert second["totalCount"] == 4, "totalCount ignores the cursor"


def test_backward_pages(as_user: Client, tasks: dict):
    last = gql(as_user, LIST, {"last": 2}).data["userTaskStatuses"]
    assert [e["node"]["name"] for e in last["edges"]] == ["Export done", "Report failed"]
    assert last["pageInfo"]["hasPreviousPage"] is True
    before = gql(as_user, LIST, {"last": 2, "before": last["pageInfo"]["startCursor"]}).data["userTaskStatuses"]
    assert [e["node"]["name"] for e in before["edges"]] == ["Export pending", "Import running"]
    assert (before["pageInfo"]["hasPreviousPage"], before["pageInfo"]["hasNextPage"]) == (False, True)


def test_a_new_task_does_not_shift_the_next_page(as_user: Client, tasks: dict, user: Any):
    first = gql(as_user, LIST, {"first": 2}).data["userTaskStatuses"]
    make_status(user, name="Brand new")
    second = gql(as_user, LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}).data["userTaskStatuses"]
    assert [e["node"]["name"] for e in second["edges"]] == ["Export done", "Report failed"]


def test_empty_page(as_user: Client, tasks: dict):
    page = gql(as_user, LIST, {"first": 0}).data["userTaskStatuses"]
    assert page["edges"] == []
    assert page["pageInfo"]["startCursor"] is None
    assert page["totalCount"] == 4


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 101}, "at most 100"),
        ({"last": 500}, "at most 100"),
        ({"first": -1}, "must not be negative"),
        ({"after": "not-a-cursor"}, "Invalid cursor"),
        ({"before": "bm9wZQ=="}, "Invalid cursor"),
        ({"first": 1, "last": 1}, "not both"),
    ],
)
def test_bad_pagination_arguments(as_user: Client, tasks: dict, variables: dict, message: str):
    result = gql(as_user, LIST, variables)
    assert result.codes == ["BAD_USER_INPUT"]
    assert message in result.errors[0]["message"]
    assert result.data is None


def test_page_cap_setting(as_user: Client, tasks: dict, settings: Any):
    settings.USER_TASKS_GRAPHQL_MAX_PAGE_SIZE = 2
    assert gql(as_user, LIST, {"first": 3}).codes == ["BAD_USER_INPUT"]
    assert len(names(as_user)) == 2, "without first/last a page is the cap"


def test_group_children_are_listed_with_top_level_false(as_user: Client, user: Any):
    group = make_container(user, kind="group", name="group")
    make_status(user, parent=group, name="member")
    assert names(as_user, f={"topLevel": False, "nameContains": "member"}) == ["member"]


def test_ordering_and_its_pages(as_user: Client, tasks: dict):
    query = """query($after: String) { userTaskStatuses(first: 2, after: $after, ordering: [{name: ASC}]) {
        edges { node { name } } pageInfo { endCursor hasNextPage } } }"""
    first = gql(as_user, query).data["userTaskStatuses"]
    assert [edge["node"]["name"] for edge in first["edges"]] == ["Export done", "Export pending"]
    after = {"after": first["pageInfo"]["endCursor"]}
    second = gql(as_user, query, after).data["userTaskStatuses"]
    assert [edge["node"]["name"] for edge in second["edges"]] == ["Import running", "Report failed"]
    assert second["pageInfo"]["hasNextPage"] is False


def test_cursors_reveal_nothing_and_refuse_forgery(as_user: Client, tasks: dict, settings: Any):
    """A cursor holds its row's key (a count of the site's tasks) only sealed; one this server did
    not seal is refused, and a cursor sealed before a key rotation (SECRET_KEY_FALLBACKS) still pages."""
    page = gql(as_user, LIST, {"first": 2}).data["userTaskStatuses"]
    cursor = page["pageInfo"]["endCursor"]
    row = UserTaskStatus.objects.get(name=page["edges"][-1]["node"]["name"])
    opened = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert str(row.uuid).encode() not in opened
    assert b"orderedcursor" not in opened
    raw = relay.to_base64("orderedcursor", json.dumps([row.created.isoformat(), str(row.uuid), str(row.pk)]))
    altered = cursor[:-6] + ("A" if cursor[-6] != "A" else "B") + cursor[-5:]
    for forged in (raw, altered):
        result = gql(as_user, LIST, {"first": 2, "after": forged})
        assert result.codes == ["BAD_USER_INPUT"]
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a new key" * 8
    rotated = gql(as_user, LIST, {"first": 2, "after": cursor}).data["userTaskStatuses"]
    assert [edge["node"]["name"] for edge in rotated["edges"]] == ["Export done", "Report failed"]
    settings.SECRET_KEY_FALLBACKS = []
    assert gql(as_user, LIST, {"first": 2, "after": cursor}).codes == ["BAD_USER_INPUT"]
