"""A 100-item page of a user's tasks out of 10,000, over HTTP: our GraphQL list against
django-user-tasks' DRF list view of the same rows, through the same Django process and middleware."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.harness import measure, report

ROWS = 10_000
QUERY = """{ userTaskStatuses(first: 100) { totalCount edges { node {
  uuid name state stateText completedSteps totalSteps attempts created modified artifacts { uuid } } } } }"""


def _populate(user: Any, rows: int) -> None:
    from user_tasks.models import UserTaskArtifact as TheirArtifact
    from user_tasks.models import UserTaskStatus as TheirStatus

    from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

    rng = random.Random(7)
    now = timezone.now()
    ours, theirs, our_artifacts, their_artifacts = [], [], [], []
    for i in range(rows):
        fields = {
            "user": user,
            "task_id": str(uuid.uuid4()),
            "task_class": "bench.export",
            "name": f"Export {i}",
            "total_steps": 10,
            "completed_steps": i % 11,
        }
        ours.append(UserTaskStatus(state="Succeeded", **fields))
        theirs.append(TheirStatus(state="Succeeded", **fields))
    UserTaskStatus.objects.bulk_create(ours, batch_size=2000)
    TheirStatus.objects.bulk_create(theirs, batch_size=2000)
    for i, (our, their) in enumerate(zip(ours, theirs, strict=True)):
        created = now - timedelta(seconds=rows - i)
        for _ in range(rng.randint(0, 5)):
            our_artifacts.append(UserTaskArtifact(status=our, text="Lorem ipsum"))
            their_artifacts.append(TheirArtifact(status=their, text="Lorem ipsum"))
        our.created = their.created = created
    UserTaskArtifact.objects.bulk_create(our_artifacts, batch_size=5000)
    TheirArtifact.objects.bulk_create(their_artifacts, batch_size=5000)
    UserTaskStatus.objects.bulk_update(ours, ["created"], batch_size=2000)
    TheirStatus.objects.bulk_update(theirs, ["created"], batch_size=2000)


def _graphql(client: Client) -> None:
    response = client.post("/graphql/", json.dumps({"query": QUERY}), content_type="application/json")
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    assert len(body["data"]["userTaskStatuses"]["edges"]) == 100


def _drf(client: Client) -> None:
    response = client.get("/drf/tasks/", {"page": 1})
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["results"]) == 100


def _queries(call: Any, client: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        call(client)
    return len(captured.captured_queries)


def run(quick: bool = False) -> str:
    repeat, rows = (10, 2_000) if quick else (100, ROWS)
    user = get_user_model().objects.create_user(f"lister-{uuid.uuid4().hex[:6]}")
    user.user_permissions.add(
        Permission.objects.get(codename="view_usertaskstatus", content_type__app_label="user_tasks")
    )
    _populate(user, rows)
    client = Client()
    client.force_login(user)
    theirs = measure("django-user-tasks DRF list, page of 100 (PageNumberPagination)", lambda: _drf(client), repeat)
    ours = measure("GraphQL userTaskStatuses(first: 100) with artifacts", lambda: _graphql(client), repeat)
    table = report(f"List query: a page of 100 out of {rows:,} statuses with 0-5 artifacts each", theirs, [ours])
    drf_sql, graphql_sql = _queries(_drf, client), _queries(_graphql, client)
    counts = f"\n\nSQL per request (session and user included): DRF {drf_sql}, GraphQL {graphql_sql}"
    return table + counts
