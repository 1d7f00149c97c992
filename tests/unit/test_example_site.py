"""The example site's own commands."""

import uuid
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command


@pytest.mark.django_db
def test_seed_demo_creates_a_working_login_and_is_repeatable(client: Any):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert "username 'demo', password 'demo'" in out.getvalue()
    user = authenticate(username="demo", password="demo")
    assert user is not None
    assert user.is_superuser
    client.force_login(user)
    assert client.get("/admin/user_tasks_graphql/usertaskstatus/").status_code == 200


START = """mutation($steps: Int!, $seconds: Float!, $fail: Int) {
  startDemoTask(steps: $steps, stepSeconds: $seconds, failAtStep: $fail) { uuid name state totalSteps } }"""


def _post(client: Any, query: str, variables: dict) -> dict:
    import json

    return client.post(
        "/graphql/", json.dumps({"query": query, "variables": variables}), content_type="application/json"
    ).json()


@pytest.mark.django_db(transaction=True)
def test_start_demo_task_runs_and_stores_its_output(client: Any, user: Any, eager: None, settings: Any):
    from user_tasks_graphql.models import UserTaskStatus

    settings.USER_TASKS_PROGRESS_INTERVAL = 0
    client.force_login(user)
    body = _post(client, START, {"steps": 3, "seconds": 0, "fail": None})
    node = body["data"]["startDemoTask"]
    assert (node["name"], node["totalSteps"]) == ("Demo task (3 steps)", 3)
    status = UserTaskStatus.objects.get(uuid=node["uuid"])
    assert (status.state, status.completed_steps, status.state_text) == ("Succeeded", 3, "Step 3 of 3")
    assert [(a.name, a.text) for a in status.artifacts.all()] == [("Output", "done: 3 steps")]


@pytest.mark.django_db(transaction=True)
def test_start_demo_task_that_fails(client: Any, user: Any, eager: None):
    from user_tasks_graphql.models import UserTaskStatus

    client.force_login(user)
    node = _post(client, START, {"steps": 5, "seconds": 0, "fail": 2})["data"]["startDemoTask"]
    status = UserTaskStatus.objects.get(uuid=node["uuid"])
    assert status.state == "Failed"
    assert status.artifacts.get(name="Error").text == "Failed at step 2"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "variables",
    [
        {"steps": 0, "seconds": 0},
        {"steps": 5, "seconds": -1},
        {"steps": 5, "seconds": 0, "fail": 6},
        {"steps": 5000, "seconds": 0},
        {"steps": 301, "seconds": 1},  # over the demo's 300 s in all
    ],
)
def test_start_demo_task_refuses_bad_input(client: Any, user: Any, variables: dict):
    from user_tasks_graphql.models import UserTaskStatus

    client.force_login(user)
    body = _post(client, START, {"fail": None, **variables})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert not UserTaskStatus.objects.exists()


@pytest.mark.django_db
def test_a_canvas_is_bounded_in_total_duration_too(client: Any, user: Any):
    from user_tasks_graphql.models import UserTaskStatus

    client.force_login(user)
    query = 'mutation { startDemoCanvas(kind: "group", children: 20, steps: 10, stepSeconds: 2) { uuid } }'
    body = _post(client, query, {})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "300 s" in body["errors"][0]["message"]
    assert not UserTaskStatus.objects.exists()


@pytest.mark.django_db
def test_a_start_over_the_users_limit_is_too_many_tasks(client: Any, user: Any, settings: Any):
    from user_tasks_graphql.models import UserTaskStatus

    settings.USER_TASKS_MAX_ACTIVE_PER_USER = 2
    client.force_login(user)
    for _ in range(2):
        assert "errors" not in _post(client, START, {"steps": 3, "seconds": 0.1, "fail": None})
    body = _post(client, START, {"steps": 3, "seconds": 0.1, "fail": None})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "TOO_MANY_TASKS"
    assert "2 unfinished tasks" in error["message"]
    assert UserTaskStatus.objects.count() == 2


@pytest.mark.django_db
def test_one_request_starts_at_most_five_mutations(client: Any, user: Any):
    from user_tasks_graphql.models import UserTaskStatus

    client.force_login(user)
    fields = " ".join(f"t{n}: startDemoTask(steps: 1, stepSeconds: 0) {{ uuid }}" for n in range(6))
    body = _post(client, f"mutation {{ {fields} }}", {})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "At most 5 mutations per request (6 asked)" in body["errors"][0]["message"]
    assert not UserTaskStatus.objects.exists()
    start = "startDemoTask(steps: 1, stepSeconds: 0) { uuid }"
    document = (
        f'mutation {{ ...Two ...Two ... on Mutation {{ ...Two }} c: cancelUserTask(uuid: "{uuid.uuid4()}") {{ uuid }}'
        f" x: {start} y: {start} z: {start} }} fragment Two on Mutation {{ a: {start} b: {start} }}"
    )
    body = _post(client, document, {})
    assert "(6 asked)" in body["errors"][0]["message"], "a fragment counts once, however often it is spread"


@pytest.mark.django_db
def test_start_demo_task_needs_a_user(client: Any):
    body = _post(client, START, {"steps": 3, "seconds": 0, "fail": None})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "rows"), [("chain", 4), ("group", 4), ("chord", 5)])
def test_start_demo_canvas_returns_the_container(client: Any, user: Any, kind: str, rows: int):
    from user_tasks_graphql.models import UserTaskStatus

    client.force_login(user)
    query = """mutation($kind: String!) { startDemoCanvas(kind: $kind, children: 3, steps: 2, stepSeconds: 0) {
        isContainer taskClass name totalSteps children { name } } }"""
    node = _post(client, query, {"kind": kind})["data"]["startDemoCanvas"]
    assert (node["isContainer"], node["taskClass"], node["name"]) == (True, f"celery.{kind}", f"Demo {kind} of 3")
    assert node["totalSteps"] == 6
    assert UserTaskStatus.objects.count() == rows


@pytest.mark.django_db(transaction=True)
def test_start_demo_export_stores_a_csv_file(client: Any, user: Any, eager: None):
    from user_tasks_graphql.models import UserTaskStatus

    client.force_login(user)
    query = "mutation { startDemoExport(rows: 3) { uuid } }"
    node = _post(client, query, {})["data"]["startDemoExport"]
    status = UserTaskStatus.objects.get(uuid=node["uuid"])
    artifact = status.artifacts.get()
    assert status.state == "Succeeded"
    assert artifact.file.read().decode().splitlines() == ["row,square", "1,1", "2,4", "3,9"]


@pytest.mark.django_db
def test_spa_page_needs_login_and_sets_the_csrf_cookie(client: Any, user: Any):
    assert client.get("/").status_code == 302
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies


def test_channel_layer_choice(monkeypatch: Any):
    """The pub/sub layer by default (chosen from the fan-out and load data), core on request, the
    in-memory layer without Redis, and a clear error for anything else."""
    from example_site.settings import channel_layers

    monkeypatch.delenv("CHANNEL_LAYER", raising=False)
    monkeypatch.delenv("CHANNEL_LAYER_PREFIX", raising=False)
    url = "redis://127.0.0.1:6379/3"
    default = channel_layers(url)["default"]
    assert default["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert default["CONFIG"]["prefix"] == "asgi"
    core = channel_layers(url, kind="core", prefix="mine")["default"]
    assert core["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert core["CONFIG"]["prefix"] == "mine"
    assert channel_layers("")["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    with pytest.raises(ValueError, match="CHANNEL_LAYER must be"):
        channel_layers(url, kind="rabbit")
