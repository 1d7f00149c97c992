"""The one JSON decoding of GraphQL requests over HTTP, and the check of GET query strings.

Python's ``json.loads`` has more ways to fail than ``JSONDecodeError``: bytes that are not UTF-8
(``UnicodeDecodeError``), an integer over 4,300 digits (a plain ``ValueError``), nesting deep
enough to reach the interpreter's recursion limit (``RecursionError``); and it accepts what no
client means (``1e999999`` read as infinity, ``NaN``). Each of those used to escape the view as an
HTML 500. Here every one of them is a ``MalformedRequest`` that the view answers with a 400.
"""

from __future__ import annotations

import json
import math
import re
import sys
import urllib.parse
from itertools import accumulate
from typing import Any, NoReturn

MAX_JSON_DEPTH = 64  # nesting levels; ours need 4, and 64 stays far below the recursion limit
# Python's default digit limit for int(), whatever sys.set_int_max_str_digits() says: int() is
# quadratic in the digits, and no GraphQL scalar needs more
MAX_INT_DIGITS = sys.int_info.default_max_str_digits

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class MalformedRequest(ValueError):
    """A request the server cannot read; its message is meant for the client."""


class _Refused(ValueError):
    """Raised by the parser's hooks with what is wrong; ``loads`` says where."""


def loads(data: str | bytes, what: str = "The request body") -> Any:
    """``data`` decoded as JSON, or ``MalformedRequest`` naming ``what`` and the reason."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")  # JSON is UTF-8 (RFC 8259); a leading BOM may be ignored
        except UnicodeDecodeError as exc:
            raise MalformedRequest(f"{what} is not valid UTF-8.") from exc
    if nesting_depth(data) > MAX_JSON_DEPTH:
        raise MalformedRequest(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep.")
    try:
        return json.loads(data, parse_int=_int, parse_float=_finite_float, parse_constant=_refuse_constant)
    except _Refused as exc:
        raise MalformedRequest(f"{what} holds {exc}.") from exc
    except RecursionError as exc:  # not reached below MAX_JSON_DEPTH; kept so no input can crash the view
        raise MalformedRequest(f"{what} is nested too deeply.") from exc
    except ValueError as exc:  # JSONDecodeError
        raise MalformedRequest(f"{what} is not valid JSON: {exc}.") from exc


def nesting_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest, counted without parsing it (brackets
    inside strings do not count), so a deep text is refused before the recursive parser sees it."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_query_string(query_string: str) -> None:
    """Refuse a query string that is not percent-encoded UTF-8: Django's parser would quietly turn
    each bad escape into U+FFFD, and the request would run with text the client never sent."""
    if _BAD_ESCAPE.search(query_string):
        raise MalformedRequest("The query string has a '%' that does not start a percent-escape.")
    try:
        urllib.parse.parse_qsl(query_string, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("The query string does not decode to UTF-8.") from exc


def _int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits <= MAX_INT_DIGITS:
        try:
            return int(text)
        except ValueError:  # a process that lowered sys.set_int_max_str_digits()
            pass
    raise _Refused(f"an integer of {digits} digits, more than the server reads")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _Refused(f"a number out of range ({text[:24]})")
    return number


def _refuse_constant(name: str) -> NoReturn:
    raise _Refused(f"{name}, which is not JSON")


__all__ = ["MAX_INT_DIGITS", "MAX_JSON_DEPTH", "MalformedRequest", "check_query_string", "loads", "nesting_depth"]
