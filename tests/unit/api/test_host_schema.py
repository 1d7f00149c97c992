"""Our types and root fields inside a host project's own strawberry-django schema
(``tests/testapp/schema.py``): merged with ``merge_types``, reached from the host's own type and
optimized in the same query, our errors coded and the host's left alone, served over HTTP and
through our websocket consumer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from strawberry.types import ExecutionResult

from tests.testapp.models import Course
from tests.testapp.schema import schema as host_schema
from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus
from user_tasks_graphql.routing import websocket_application
from user_tasks_graphql.schema import queries

from ..live.wsclient import GraphQLSocket, session_cookie

COURSES = "{ courses { name exportTasks { uuid name state percentComplete artifacts { name text } } } }"


def run(query: str, user: Any, variables: dict[str, Any] | None = None) -> ExecutionResult:
    request = RequestFactory().post("/graphql/")
    request.user = user
    return host_schema.execute_sync(query, variable_values=variables, context_value={"request": request})


def export(user: Any, course: Course, name: str) -> UserTaskStatus:
    status = UserTaskStatus.objects.create(
        user=user, task_id=str(uuid.uuid4()), task_class="tests.export", name=name, total_steps=4, completed_steps=1
    )
    UserTaskArtifact.objects.create(status=status, text=f"{name}.csv")
    course.export_tasks.add(status)
    return status


@pytest.fixture
def courses(user: Any, other_user: Any) -> list[Course]:
    made = [Course.objects.create(name=f"Course {n}") for n in range(5)]
    for course in made:
        export(user, course, f"{course.name} export")
        export(other_user, course, f"{course.name} export by someone else")
    return made


def test_a_host_type_returns_our_type_optimized_in_the_same_query(
    user: Any, courses: list[Course], django_assert_num_queries: Any
):
    with django_assert_num_queries(3):  # courses, their visible export tasks, those tasks' artifacts
        result = run(COURSES, user)
    assert result.errors is None
    assert [course["name"] for course in result.data["courses"]] == [course.name for course in courses]
    for course in result.data["courses"]:
        (task,) = course["exportTasks"]  # another user's export of the same course is not visible
        assert task["name"] == f"{course['name']} export"
        assert (task["state"], task["percentComplete"]) == ("PENDING", 25.0)
        assert task["artifacts"] == [{"name": "Output", "text": f"{course['name']} export.csv"}]


def test_our_merged_root_fields_answer_in_the_host_schema(user: Any, courses: list[Course]):
    result = run("{ userTaskStatuses(first: 2) { totalCount edges { node { name } } } }", user)
    assert result.errors is None
    assert result.data["userTaskStatuses"]["totalCount"] == 5
    assert len(result.data["userTaskStatuses"]["edges"]) == 2
    renamed = run('mutation { renameCourse(name: "Intro") }', user)
    assert renamed.data == {"renameCourse": "Intro"}


def test_our_errors_are_coded_and_the_hosts_are_left_alone(user: Any, courses: list[Course]):
    ours = run('{ userTaskStatuses(first: 1, after: "not a cursor") { totalCount } }', user)
    assert [error.extensions for error in ours.errors] == [{"code": "BAD_USER_INPUT"}]
    anonymous = run("{ userTaskStatus(uuid: $u) { name } }".replace("$u", f'"{uuid.uuid4()}"'), AnonymousUser())
    assert [error.extensions["code"] for error in anonymous.errors] == ["UNAUTHENTICATED"]
    hosts = run("{ courseReport }", user)
    (error,) = hosts.errors
    assert error.message == "The course report is not ready."
    assert not error.extensions, "the host's own error keeps its message and gets no code of ours"
    assert isinstance(error.original_error, ValueError)


def test_an_unexpected_error_of_ours_is_masked_in_the_host_schema(user: Any, monkeypatch: pytest.MonkeyPatch):
    def broken(*args: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(queries, "load_status", broken)
    (error,) = run(f'{{ userTaskStatus(uuid: "{uuid.uuid4()}") {{ name }} }}', user).errors
    assert (error.message, error.extensions) == ("Internal server error.", {"code": "INTERNAL_SERVER_ERROR"})


def test_a_hosts_mutation_over_the_task_limit_is_too_many_tasks(user: Any, settings: Any):
    """Our refusal is coded wherever the host's own mutation started the task."""
    settings.USER_TASKS_MAX_ACTIVE_PER_USER = 1
    started = run('mutation { exportCourse(name: "Intro") }', user)
    assert started.errors is None
    assert UserTaskStatus.objects.get(uuid=started.data["exportCourse"]).user == user
    refused = run('mutation { exportCourse(name: "Intro again") }', user)
    (error,) = refused.errors
    assert error.extensions == {"code": "TOO_MANY_TASKS"}
    assert "1 unfinished tasks" in error.message
    assert UserTaskStatus.objects.filter(user=user).count() == 1


@pytest.mark.django_db(transaction=True)
async def test_the_consumer_serves_the_host_schema(user: Any):
    status = await sync_to_async(UserTaskStatus.objects.create)(
        user=user, task_id=str(uuid.uuid4()), task_class="tests.export", name="Export", total_steps=2
    )
    socket = GraphQLSocket(websocket_application(host_schema), await session_cookie(user))
    await socket.connect()
    await socket.subscribe("1", "subscription($u: UUID!) { userTaskStatus(uuid: $u) { state completedSteps } }",
                           {"u": str(status.uuid)})  # fmt: skip
    assert (await socket.next_payload("1"))["data"]["userTaskStatus"] == {"state": "PENDING", "completedSteps": 0}
    await sync_to_async(status.start)()
    assert (await socket.next_payload("1"))["data"]["userTaskStatus"]["state"] == "IN_PROGRESS"
    await sync_to_async(status.succeed)()
    assert (await socket.next_payload("1"))["data"]["userTaskStatus"] == {"state": "SUCCEEDED", "completedSteps": 2}
    await socket.expect_complete("1")
    await socket.close()
