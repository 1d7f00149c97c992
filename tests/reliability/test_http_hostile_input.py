"""Malformed and hostile HTTP requests against a real uvicorn process with ``DEBUG`` off.

Each case proves the same things: the exact status and a GraphQL-shaped JSON body with the
``BAD_USER_INPUT`` code (never Django's HTML 500 page, which nothing logs with ``DEBUG`` off), at
most one line and no traceback in the server's log, no row changed, and a normal query served
right after by the same process.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.integration.conftest import Server, session_cookie
from user_tasks_graphql.models import UserTaskStatus

from .wsclient import SERVER_FAULTS, assert_clean, owned_tasks, running_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CSRF = "k" * 32  # a CSRF secret sent as both cookie and header, as a same-site page does
TYPENAME = "query($x: Int) { __typename }"
DEEP = "[" * 3000 + "]" * 3000
HUGE_INT = "1" + "0" * 5000
FILTERED = "query($f: UserTaskStatusFilter) { userTaskStatuses(filters: $f) { totalCount } }"
SUBSCRIPTION = "subscription { userTaskStatuses { uuid } }"


def query_string(**params: str) -> str:
    return urllib.parse.urlencode(params)


@dataclass(frozen=True)
class Case:
    """A request (``query`` is the raw query string of a GET; ``body`` makes it a POST)."""

    query: str = ""
    body: bytes | None = None
    logged_in: bool = False
    status: int = 400
    message: str = ""  # a part of the error's message


def post(document: str, variables: Any = None, **extra: Any) -> bytes:
    return json.dumps({"query": document, "variables": variables, **extra}).encode()


CASES = {
    # item 1: the request itself cannot be read (400)
    "GET 5,001-digit integer (anonymous)": Case(
        query_string(query=TYPENAME, variables=f'{{"x": {HUGE_INT}}}'), message="digits"
    ),
    "GET variables nested 3,000 deep (anonymous)": Case(
        query_string(query=TYPENAME, variables=f'{{"x": {DEEP}}}'), message="nested"
    ),
    "GET 1e999999": Case(query_string(query=TYPENAME, variables='{"x": 1e999999}'), message="out of range"),
    "GET invalid percent-encoding": Case("query=%7B__typename%7D%ff%fe", message="query string"),
    "GET variables of the wrong type": Case(query_string(query=TYPENAME, variables="[1]"), message="variables"),
    "POST variables nested 3,000 deep": Case(
        body=f'{{"query": "{TYPENAME}", "variables": {{"x": {DEEP}}}}}'.encode(), logged_in=True, message="nested"
    ),
    "POST body not UTF-8": Case(body=b'{"query": "{ __typename }\xff\xfe"}', logged_in=True, message="UTF-8"),
    "POST 5,001-digit integer": Case(
        body=f'{{"query": "{TYPENAME}", "variables": {{"x": {HUGE_INT}}}}}'.encode(), logged_in=True, message="digits"
    ),
    "POST NaN": Case(body=f'{{"query": "{TYPENAME}", "variables": {{"x": NaN}}}}'.encode(), message="NaN"),
    "POST extensions of the wrong type": Case(body=post("{ __typename }", extensions=[1]), message="extensions"),
    "POST operationName of the wrong type": Case(
        body=post("{ __typename }", operationName={}), message="operationName"
    ),
    # item 2: readable, but what it asks is the client's mistake (a GraphQL error, code BAD_USER_INPUT)
    "GET subscription (anonymous)": Case(query_string(query=SUBSCRIPTION), message="websocket"),
    "POST subscription": Case(body=post(SUBSCRIPTION), logged_in=True, message="websocket"),
    "GET nameContains literal NUL": Case(
        query_string(query='{ userTaskStatuses(filters: {nameContains: "\\u0000"}) { totalCount } }'),
        logged_in=True,
        status=200,
        message="NUL",
    ),
    "POST taskClass variable NUL": Case(
        body=post(FILTERED, {"f": {"taskClass": "demo.demo_task\x00"}}), logged_in=True, status=200, message="NUL"
    ),
    "POST nameContains variable lone surrogate": Case(
        body=post(FILTERED, {"f": {"nameContains": "\ud800"}}), logged_in=True, status=200, message="surrogate"
    ),
}


@pytest.fixture(scope="module")
def http_server(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(services, tmp_path_factory.mktemp("http-hostile"), DJANGO_DEBUG="0") as running:
        yield running


def send(server: Server, case: Case, cookie: str) -> tuple[int, str, bytes]:
    headers = {"Accept": "application/json", "Host": f"127.0.0.1:{server.port}"}
    if case.logged_in:
        headers["Cookie"] = f"sessionid={cookie}"
    if case.body is not None:
        headers["Cookie"] = "; ".join(filter(None, [headers.get("Cookie"), f"csrftoken={CSRF}"]))
        headers.update({"X-CSRFToken": CSRF, "Content-Type": "application/json"})
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("POST" if case.body is not None else "GET", f"/graphql/?{case.query}", case.body, headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def all_rows() -> list[tuple[Any, ...]]:
    return list(UserTaskStatus.objects.order_by("pk").values_list("pk", "state", "name", "task_class", "modified"))


@pytest.mark.parametrize("name", CASES)
def test_hostile_request_is_refused_cleanly(http_server: Server, name: str):
    case = CASES[name]
    users = get_user_model().objects
    owner, attacker = users.create_user("owner"), users.create_user("mallory")
    owned_tasks(owner, "OWNER-PRIVATE")
    cookie = session_cookie(attacker)
    before, log_offset = all_rows(), len(http_server.output())

    status, content_type, raw = send(http_server, case, cookie)

    assert status == case.status, raw[:500]
    assert content_type == "application/json", raw[:500]
    assert_clean(raw.decode(errors="replace"))
    body = json.loads(raw)
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}, error
    assert case.message in error["message"], error
    if status == 400:
        assert set(error) == {"message", "extensions"}, error
    log = http_server.output()[log_offset:]
    assert not any(fault in log for fault in SERVER_FAULTS), log[-4000:]
    assert len(log.splitlines()) <= 1, log[-4000:]
    assert all_rows() == before, "a row changed"
    assert_still_serving(http_server, cookie)


def assert_still_serving(server: Server, cookie: str) -> None:
    """The same process answers a normal query (the attacker's own list, empty) right after."""
    assert server.process.poll() is None, "the server process died"
    normal = Case(query_string(query="{ userTaskStatuses { totalCount } }"), logged_in=True)
    status, _, raw = send(server, normal, cookie)
    assert (status, json.loads(raw)) == (200, {"data": {"userTaskStatuses": {"totalCount": 0}}}), raw[:500]


def test_the_server_under_test_has_debug_off(http_server: Server):
    """With DEBUG off Django logs no 500 at all: the conditions the cases above were found in."""
    connection = http.client.HTTPConnection("127.0.0.1", http_server.port, timeout=30)
    try:
        connection.request("GET", "/no-such-page/", headers={"Host": f"127.0.0.1:{http_server.port}"})
        response = connection.getresponse()
        assert response.status == 404
        assert b"URLconf" not in response.read(), "DEBUG is on: Django answered with its technical 404 page"
    finally:
        connection.close()
