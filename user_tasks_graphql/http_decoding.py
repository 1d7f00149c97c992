"""Reading an HTTP GraphQL request: its JSON through the one decoding (``json_decoding``) and its
GET query string, every failure a ``MalformedRequest`` that the view answers with a 400 (they
used to escape the view as Django's HTML 500).

Lone surrogates are let through here: they are refused per argument, as GraphQL errors, by
``schema.input_checks``, for every transport alike.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from .json_decoding import MAX_INT_DIGITS, RefusedMessage, decode, nesting_depth

MAX_JSON_DEPTH = 64  # nesting levels; ours need 4, and 64 stays far below the recursion limit
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class MalformedRequest(ValueError):
    """A request the server cannot read; its message is meant for the client."""


def loads(data: str | bytes, what: str = "The request body") -> Any:
    """``data`` decoded as JSON, or ``MalformedRequest`` naming ``what`` and the reason."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")  # JSON is UTF-8 (RFC 8259); a leading BOM may be ignored
        except UnicodeDecodeError as exc:
            raise MalformedRequest(f"{what} is not valid UTF-8.") from exc
    try:
        return decode(data, MAX_JSON_DEPTH, lone_surrogates=True)
    except RefusedMessage as exc:
        raise MalformedRequest(f"{what} is refused: {exc.reason}.") from exc
    except json.JSONDecodeError as exc:
        raise MalformedRequest(f"{what} is not valid JSON: {exc}.") from exc


def check_query_string(query_string: str) -> None:
    """Refuse a query string that is not percent-encoded UTF-8: Django's parser would quietly turn
    each bad escape into U+FFFD, and the request would run with text the client never sent."""
    if _BAD_ESCAPE.search(query_string):
        raise MalformedRequest("The query string has a '%' that does not start a percent-escape.")
    try:
        urllib.parse.parse_qsl(query_string, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("The query string does not decode to UTF-8.") from exc


__all__ = ["MAX_INT_DIGITS", "MAX_JSON_DEPTH", "MalformedRequest", "check_query_string", "loads", "nesting_depth"]
