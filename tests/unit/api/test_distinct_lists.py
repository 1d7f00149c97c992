"""A list filtered with ``DISTINCT: true`` keeps to what the viewer may see (Django refuses to
combine a distinct queryset with the visibility filter unless both are distinct)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from user_tasks_graphql.models import UserTaskArtifact

from ..factories import make_waiting

pytestmark = pytest.mark.django_db

QUERY = """{
  userTaskStatuses(filters: { nameContains: null, DISTINCT: true } ordering: [] before: "" after: "" first: 5) {
    totalCount edges { node { name artifacts { text } } }
  }
}"""


def test_a_distinct_list_is_the_viewers_own():
    alice, bob = (get_user_model().objects.create_user(name) for name in ("alice", "bob"))
    UserTaskArtifact.objects.create(status=make_waiting(alice, "alice's"), text="a")
    make_waiting(bob, "bob's")
    client = Client()
    client.force_login(alice)
    body = client.post("/graphql/", {"query": QUERY}, content_type="application/json").json()
    assert "errors" not in body, body
    page = body["data"]["userTaskStatuses"]
    assert page["totalCount"] == 1
    assert [edge["node"] for edge in page["edges"]] == [{"name": "alice's", "artifacts": [{"text": "a"}]}]
