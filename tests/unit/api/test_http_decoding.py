"""Malformed HTTP requests: each is a 400 with a GraphQL-shaped body (``BAD_USER_INPUT``), logged as
at most one line without a traceback; never Django's HTML 500 page."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client

from user_tasks_graphql import json_decoding
from user_tasks_graphql.http_decoding import (
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    MalformedRequest,
    check_query_string,
    loads,
    nesting_depth,
)

pytestmark = pytest.mark.django_db

TYPENAME = "query($x: Int) { __typename }"
DEEP = "[" * 3000 + "]" * 3000
HUGE_INT = "1" + "0" * 5000

# GET: the query string as sent (already percent-encoded where it should be)
GETS = {
    "a 5,001-digit integer in variables": {"query": TYPENAME, "variables": f'{{"x": {HUGE_INT}}}'},
    "variables nested 3,000 deep": {"query": TYPENAME, "variables": f'{{"x": {DEEP}}}'},
    "1e999999 in variables": {"query": TYPENAME, "variables": '{"x": 1e999999}'},
    "NaN in variables": {"query": TYPENAME, "variables": '{"x": NaN}'},
    "variables that are not JSON": {"query": TYPENAME, "variables": "{x"},
    "variables that are a list": {"query": TYPENAME, "variables": "[1]"},
    "variables that are a string": {"query": TYPENAME, "variables": '"x"'},
    "extensions that are a number": {"query": TYPENAME, "extensions": "5"},
}
RAW_GETS = {
    "an escape that is not UTF-8 in the query": "query=%7B__typename%7D%ff",
    "an escape that is not UTF-8 in variables": "query=%7B__typename%7D&variables=%7B%22x%22%3A%22%c3%28%22%7D",
    "a '%' that starts no escape": "query=%7B__typename%7D%zz",
    "a '%' at the end": "query=%7B__typename%7D%",
}
POSTS = {
    "a body that is not UTF-8": b'{"query": "{ __typename }\xff\xfe"}',
    "a body in UTF-16": '{"query": "{ __typename }"}'.encode("utf-16"),
    "variables nested 3,000 deep": f'{{"query": "{TYPENAME}", "variables": {{"x": {DEEP}}}}}'.encode(),
    "a body nested 3,000 deep": DEEP.encode(),
    "a 5,001-digit integer": f'{{"query": "{TYPENAME}", "variables": {{"x": {HUGE_INT}}}}}'.encode(),
    "a negative 5,001-digit integer": f'{{"query": "{TYPENAME}", "variables": {{"x": -{HUGE_INT}}}}}'.encode(),
    "1e999999": f'{{"query": "{TYPENAME}", "variables": {{"x": 1e999999}}}}'.encode(),
    "-Infinity": f'{{"query": "{TYPENAME}", "variables": {{"x": -Infinity}}}}'.encode(),
    "invalid JSON": b'{"query": ',
    "a JSON string": b'"{ __typename }"',
    "a JSON number": b"5",
    "null": b"null",
    "a list of numbers": b"[1, 2]",
    "a list of operations (no batching)": b'[{"query": "{ __typename }"}]',
    "a query that is a number": b'{"query": 5}',
    "variables that are a string": b'{"query": "{ __typename }", "variables": "x"}',
    "extensions that are a list": b'{"query": "{ __typename }", "extensions": []}',
    "an operationName that is a number": b'{"query": "{ __typename }", "operationName": 5}',
    "an operationName that is an object": b'{"query": "{ __typename }", "operationName": {}}',
    "no query": b'{"variables": {}}',
}


def assert_refused(response: Any, caplog: pytest.LogCaptureFixture, status: int = 400) -> dict[str, Any]:
    """The response is a GraphQL-shaped refusal, and the log has at most one line and no traceback."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json", response.content[:500]
    body = json.loads(response.content)
    assert set(body) == {"data", "errors"}, body
    assert body["data"] is None
    [error] = body["errors"]
    assert isinstance(error["message"], str), error
    assert error["message"], error
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}, error
    assert len(caplog.records) <= 1, [record.getMessage() for record in caplog.records]
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
    return error


@pytest.fixture
def client(caplog: pytest.LogCaptureFixture) -> Client:
    caplog.set_level(logging.INFO)
    return Client(HTTP_ACCEPT="application/json")


@pytest.mark.parametrize("case", GETS)
def test_malformed_get_parameters_are_refused(client: Client, caplog: pytest.LogCaptureFixture, case: str):
    assert_refused(client.get("/graphql/", GETS[case]), caplog)


@pytest.mark.parametrize("case", RAW_GETS)
def test_query_strings_that_are_not_percent_encoded_utf8_are_refused(
    client: Client, caplog: pytest.LogCaptureFixture, case: str
):
    error = assert_refused(client.get(f"/graphql/?{RAW_GETS[case]}"), caplog)
    assert "query string" in error["message"]


@pytest.mark.parametrize("case", POSTS)
def test_malformed_post_bodies_are_refused(user: Any, caplog: pytest.LogCaptureFixture, case: str):
    client = Client(HTTP_ACCEPT="application/json")
    client.force_login(user)  # the session of a real user: CSRF is not what refuses these
    caplog.set_level(logging.INFO)
    assert_refused(client.post("/graphql/", POSTS[case], content_type="application/json"), caplog)


def test_a_body_over_djangos_size_limit_is_refused(client: Client, caplog: pytest.LogCaptureFixture, settings: Any):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"query": "{ __typename }", "padding": "x" * 2000})
    error = assert_refused(client.post("/graphql/", body, content_type="application/json"), caplog)
    assert "too large" in error["message"]


def test_too_many_query_parameters_are_refused(client: Client, caplog: pytest.LogCaptureFixture, settings: Any):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    params = {"query": "{ __typename }", **{f"p{i}": "1" for i in range(20)}}
    assert_refused(client.get("/graphql/", params), caplog)


def test_other_methods_are_refused_with_405(client: Client, caplog: pytest.LogCaptureFixture):
    response = client.put("/graphql/", b'{"query": "{ __typename }"}', content_type="application/json")
    assert_refused(response, caplog, status=405)
    assert response["Allow"] == "GET, POST"


def test_well_formed_requests_still_run(client: Client):
    """The decoding refuses only what it must: these are what clients send."""
    variables = '{"f": {"nameContains": "[{\\"x\\": 1e308}]", "state": ["PENDING"]}}'
    query = "query($f: UserTaskStatusFilter) { userTaskStatuses(filters: $f) { totalCount } }"
    response = client.get("/graphql/", {"query": query, "variables": variables})
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    bom = b'\xef\xbb\xbf{"query": "{ __typename }"}'
    assert client.post("/graphql/", bom, content_type="application/json").json() == {"data": {"__typename": "Query"}}
    escaped = client.get("/graphql/?query=%7B%20__typename%20%7D%20%23%20caf%C3%A9")
    assert escaped.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("text", "depth"),
    [("1", 0), ("{}", 1), ('{"a": [1, {"b": []}]}', 4), ('["[[[[", "]]", "\\"[["]', 1), ("[[]][[[]]]", 3)],
)
def test_nesting_depth_counts_brackets_outside_strings(text: str, depth: int):
    assert nesting_depth(text) == depth


def test_the_depth_is_measured_only_on_text_that_parsed(monkeypatch: Any):
    """Scanning for strings in text where one never ends is quadratic: an unterminated string of
    escaped quotes held the event loop for seconds per 64 KiB before any JSON error."""

    def unexpected(text: str) -> int:
        raise AssertionError("measured the depth of text that is not JSON")

    monkeypatch.setattr(json_decoding, "nesting_depth", unexpected)
    with pytest.raises(MalformedRequest, match="not valid JSON"):
        loads('"' + '\\"[{' * 20_000)


def test_the_nesting_limit_is_inclusive():
    assert loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(MalformedRequest, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))


def test_integers_up_to_4300_digits_are_read():
    assert loads("9" * 4300) == int("9" * 4300)
    assert loads("-" + "9" * 4300) == -int("9" * 4300)
    with pytest.raises(MalformedRequest, match=f"more than {MAX_INT_DIGITS} digits"):
        loads("9" * 4301)


def test_finite_floats_are_read():
    assert loads("[1e308, -2.5e-300, 0.0]") == [1e308, -2.5e-300, 0.0]
    with pytest.raises(MalformedRequest, match="out of range"):
        loads("[-1e309]")


def test_what_is_named_in_the_message():
    with pytest.raises(MalformedRequest, match=r"^The `variables` parameter is not valid JSON"):
        loads("{", "The `variables` parameter")


@pytest.mark.parametrize("query_string", ["", "query=%7B%7D", "a=%C3%A9&b=", "a=b+c&d", "q=%2525"])
def test_percent_encoded_utf8_query_strings_pass(query_string: str):
    check_query_string(query_string)
