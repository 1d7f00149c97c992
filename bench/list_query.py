"""A 100-item page of a user's tasks out of 10,000, over HTTP: our GraphQL list against
django-user-tasks' DRF list view of the same rows, through the same Django process and middleware."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from strawberry.types import Info
from strawberry_django.optimizer import optimize
from strawberry_django.relay import DjangoListConnection

from bench.harness import measure, report
from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.schema import build_schema
from user_tasks_graphql.schema import schema as library_schema
from user_tasks_graphql.schema.types import UserTaskStatusType

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


@strawberry.type
class _OffsetQuery:
    """The same list on strawberry-django's offset connection: the alternative to keyset pages."""

    @strawberry_django.connection(DjangoListConnection[UserTaskStatusType])
    def user_task_statuses(self, info: Info) -> Iterable[UserTaskStatusType]:
        rows = UserTaskStatus.objects.filter(parent__isnull=True).order_by("-created", "-uuid")
        return optimize(rows, info)  # type: ignore[return-value]


PAGE = """query($after: String) { userTaskStatuses(first: 100, after: $after) { edges { cursor node {
  uuid name state completedSteps } } } }"""


def _cursor_at(schema: Any, request: Any, depth: int) -> str:
    """The cursor of row ``depth``, found by paging there (100 a page)."""
    after = None
    for _ in range(depth // 100):
        result = schema.execute_sync(PAGE, variable_values={"after": after}, context_value={"request": request})
        assert result.errors is None, result.errors
        after = result.data["userTaskStatuses"]["edges"][-1]["cursor"]
    assert after is not None
    return after


def _deep_pages(user: Any, rows: int, repeat: int) -> str:
    """A page at the start and one halfway down the list, keyset against offset cursors."""
    request = RequestFactory().post("/graphql/")
    request.user = user
    offset_schema = build_schema(query=_OffsetQuery)
    timings = []
    for name, schema in (("keyset (ours)", library_schema), ("offset", offset_schema)):
        for depth in (0, rows // 2):
            after = _cursor_at(schema, request, depth) if depth else None

            def page(schema: Any = schema, after: str | None = after) -> None:
                result = schema.execute_sync(PAGE, variable_values={"after": after}, context_value={"request": request})
                assert result.errors is None
                assert len(result.data["userTaskStatuses"]["edges"]) == 100

            timings.append(measure(f"{name}: 100 rows after row {depth:,}", page, repeat))
    return report(f"Pages of {rows:,} statuses: keyset against offset", timings[0], timings[1:])


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
    return table + counts + "\n\n" + _deep_pages(user, rows, repeat)
