"""The one JSON decoding of what clients send, over HTTP and websockets, with limits.

``json.loads`` has no limits that end in ``JSONDecodeError``: JSON nested a few thousand deep raises
``RecursionError``, an integer of 5,000 digits ``ValueError``, ``1e999999`` becomes ``inf`` and
``"\\ud800"`` a string no UTF-8 encoder accepts. Strawberry's handlers catch only ``JSONDecodeError``,
so over a websocket any of these ended the socket's handler and left the socket open and deaf, and
over HTTP they were Django's 500 page. Here every text ends as a value the app can use, as
``JSONDecodeError`` (not JSON at all), or as ``RefusedMessage`` (JSON beyond a limit); the consumer
closes the socket, the view answers 400 (``http_decoding``). The depth is measured on text that
already parsed, where every string ends: one linear pass.
"""

from __future__ import annotations

import json
import math
import re
import sys
from itertools import accumulate
from typing import NoReturn

# Python's own default digit limit for int(), kept whatever sys.set_int_max_str_digits() says: int()
# is quadratic in the digits, and no GraphQL scalar needs more
MAX_INT_DIGITS = sys.int_info.default_max_str_digits
# a string of valid JSON (every string in it ends, so one left-to-right pass removes them all)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# an escape that may decode to half of a surrogate pair (a false alarm only costs the full check)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class RefusedMessage(Exception):
    """Well-formed JSON the app refuses to hold; ``reason`` is short enough for a close frame."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode(data: str | bytes, max_depth: int, lone_surrogates: bool = False) -> object:
    """The message's value; ``JSONDecodeError`` for text that is not JSON, ``RefusedMessage`` for
    JSON nested deeper than ``max_depth`` containers or holding what a float cannot, or (unless
    ``lone_surrogates``: the caller answers those itself) what UTF-8 cannot."""
    text = _text(data)
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise RefusedMessage(f"Message nested deeper than {max_depth} levels") from None
    except ValueError:  # int() under a lower sys.set_int_max_str_digits()
        raise RefusedMessage("Number with too many digits") from None
    # the depth is at most the count of brackets: most messages skip measuring it
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise RefusedMessage(f"Message nested deeper than {max_depth} levels")
    if not lone_surrogates and _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise RefusedMessage("String with a lone surrogate (not UTF-8)")
    return value


def nesting_depth(text: str) -> int:
    """How deep the arrays and objects of valid JSON ``text`` nest (brackets in strings do not
    count), at the speed of a regular expression rather than of a walk over the decoded value."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _has_lone_surrogate(value: object) -> bool:
    """Whether a string of ``value`` (keys included) is not UTF-8: encoding it all back unescaped
    fails on the first one, at C speed."""
    try:
        return not _encodes(json.dumps(value, ensure_ascii=False))
    except RecursionError:  # only with a depth limit set near Python's recursion limit
        return True


def _text(data: str | bytes) -> str:
    try:
        text = data.decode() if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise RefusedMessage("Message is not valid UTF-8") from None
    if not _encodes(text):  # a str handed over with raw lone surrogates in it
        raise RefusedMessage("Message is not valid UTF-8")
    return text


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _int(digits: str) -> int:
    if len(digits) - digits.startswith("-") > MAX_INT_DIGITS:
        raise RefusedMessage(f"Number with more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999999: JSON cannot carry the inf it would become
        raise RefusedMessage("Number out of range")
    return value


def _constant(name: str) -> NoReturn:
    raise RefusedMessage(f"{name} is not a JSON number")
