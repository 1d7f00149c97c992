"""Keyset pagination, newest first, with opaque cursors (a row created meanwhile shifts nothing).

Implements the contract's ``first/after/last/before`` with ``totalCount`` and ``pageInfo``;
out-of-range sizes and unreadable cursors are ``BAD_USER_INPUT``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry
from django.db.models import Model, Q, QuerySet

from ..core.conf import max_page_size
from .errors import bad_input

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@dataclass(frozen=True)
class PageArguments:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


def encode_cursor(row: Model) -> str:
    created: datetime.datetime = row.created  # type: ignore[attr-defined]
    return base64.urlsafe_b64encode(f"{created.isoformat()}|{row.pk}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime.datetime, int]:
    try:
        created, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        position = datetime.datetime.fromisoformat(created), int(pk)
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise bad_input(f"Invalid cursor: {cursor!r}.") from exc
    if position[0].tzinfo is None:
        raise bad_input(f"Invalid cursor: {cursor!r}.")
    return position


def _check_size(name: str, value: int | None) -> None:
    if value is None:
        return
    if value < 0:
        raise bad_input(f"`{name}` must not be negative.")
    if value > max_page_size():
        raise bad_input(f"`{name}` must be at most {max_page_size()}.")


def _older_than(cursor: str) -> Q:
    created, pk = decode_cursor(cursor)
    return Q(created__lt=created) | Q(created=created, pk__lt=pk)


def _newer_than(cursor: str) -> Q:
    created, pk = decode_cursor(cursor)
    return Q(created__gt=created) | Q(created=created, pk__gt=pk)


@dataclass
class Page(Generic[T]):
    rows: list[Any]
    total_count: int
    has_next_page: bool
    has_previous_page: bool


def paginate(queryset: QuerySet[Any], args: PageArguments) -> Page[Any]:
    """One page of ``queryset``, newest first: a COUNT and one SELECT (plus the prefetches)."""
    _check_size("first", args.first)
    _check_size("last", args.last)
    if args.first is not None and args.last is not None:
        raise bad_input("Pass `first` or `last`, not both.")
    window = queryset
    if args.after:
        window = window.filter(_older_than(args.after))
    if args.before:
        window = window.filter(_newer_than(args.before))
    total = queryset.count()
    if args.last is not None:
        rows = list(window.order_by("created", "pk")[: args.last + 1])
        has_more = len(rows) > args.last
        rows = list(reversed(rows[: args.last]))
        return Page(rows, total, has_next_page=bool(args.before), has_previous_page=has_more)
    size = args.first if args.first is not None else max_page_size()
    rows = list(window.order_by("-created", "-pk")[: size + 1])
    has_more = len(rows) > size
    return Page(rows[:size], total, has_next_page=has_more, has_previous_page=bool(args.after))


def page_info(page: Page[Any]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=encode_cursor(page.rows[0]) if page.rows else None,
        end_cursor=encode_cursor(page.rows[-1]) if page.rows else None,
    )
