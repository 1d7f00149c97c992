"""The lists' relay connections: strawberry-django's keyset (cursor) pagination, newest first.

Keyset rather than offset: a task created while a client pages does not shift the next page, and a
page costs about the same however deep it is (bench/RESULTS.md). Cursors are strawberry-django's,
over the list's ordering (``created``, ``uuid``, then the primary key), sealed (``cursors``). Sizes
out of range, both ``first`` and ``last``, and cursors this server did not seal are
``BAD_USER_INPUT``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any, Self

import strawberry
from asgiref.sync import sync_to_async
from strawberry.types import Info
from strawberry.utils.await_maybe import AwaitableOrValue
from strawberry_django.relay import DjangoCursorConnection, DjangoCursorEdge

from ..core.changes import Point, current_point
from ..core.conf import max_page_size
from .cursors import seal, unseal
from .errors import bad_input
from .loading import selects_any
from .types import UserTaskArtifactType, UserTaskStatusType
from .watermarks import watermark

NEWEST_FIRST = ("-created", "-uuid")
WATERMARK = frozenset({"watermark"})


def _check_size(name: str, value: int | None) -> None:
    if value is None:
        return
    if value < 0:
        raise bad_input(f"`{name}` must not be negative.")
    if value > max_page_size():
        raise bad_input(f"`{name}` must be at most {max_page_size()}.")


class CheckedPages:
    """Page arguments checked against the contract before strawberry-django pages."""

    @classmethod
    def resolve_connection(
        cls,
        nodes: Any,
        *,
        info: Info,
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        max_results: int | None = None,
        **kwargs: Any,
    ) -> AwaitableOrValue[Self]:
        _check_size("first", first)
        _check_size("last", last)
        if first is not None and last is not None:
            raise bad_input("Pass `first` or `last`, not both.")
        if first is None and last is None:
            first = max_page_size()
        try:
            connection = super().resolve_connection(  # type: ignore[misc]
                nodes,
                info=info,
                before=unseal(before) if before else before,
                after=unseal(after) if after else after,
                first=first,
                last=last,
                max_results=max_page_size(),
                **kwargs,
            )
        except ValueError as exc:  # strawberry-django could not read a cursor
            raise bad_input(f"Invalid cursor: {after if after is not None else before!r}.") from exc
        if inspect.isawaitable(connection):
            return _beyond_cursors(connection, after, before)
        return _with_rows_beyond_cursors(connection, after, before)


def _with_rows_beyond_cursors(connection: Any, after: str | None, before: str | None) -> Any:
    """The page as the client gets it: its cursors sealed (the page's first and last the same as
    their edges'); a page after a cursor has rows before it (that cursor's row at least), and one
    before a cursor rows after it: said without a query, which relay's rules leave optional."""
    sealed: dict[str, str] = {}
    for edge in connection.edges:
        edge.cursor = sealed.setdefault(edge.cursor, seal(edge.cursor))
    page_info = connection.page_info
    for name in ("start_cursor", "end_cursor"):
        raw = getattr(page_info, name)
        if raw is not None:
            setattr(page_info, name, sealed.get(raw) or seal(raw))
    page_info.has_previous_page = page_info.has_previous_page or bool(after)
    page_info.has_next_page = page_info.has_next_page or bool(before)
    return connection


async def _beyond_cursors(pending: Awaitable[Any], after: str | None, before: str | None) -> Any:
    return _with_rows_beyond_cursors(await pending, after, before)


@strawberry.type
class Watermarked:
    """A list that says when it was read: its ``watermark``, taken before its rows are, so every
    change the page does not show comes after it (``userTaskStatusChanges(since:)`` sends those)."""

    point: strawberry.Private[Point | None] = None

    @strawberry.field(
        description=(
            "The point this page was read at: pass it as `since` to userTaskStatusChanges to receive every\n"
            "change committed after it, deletions included. Opaque."
        )
    )
    def watermark(self) -> str:
        assert self.point is not None
        return watermark(self.point)

    @classmethod
    def resolve_connection(cls, nodes: Any, *, info: Info, **kwargs: Any) -> AwaitableOrValue[Self]:
        if not _selects_watermark(info):
            return super().resolve_connection(nodes, info=info, **kwargs)  # type: ignore[misc]
        if _on_event_loop():  # an async view: no query here
            return _watermarked_async(super().resolve_connection, nodes, info, kwargs)  # type: ignore[misc]
        point = current_point()
        return _with_point(super().resolve_connection(nodes, info=info, **kwargs), point)  # type: ignore[misc]


def _selects_watermark(info: Info) -> bool:
    return selects_any(info.selected_fields[0].selections, WATERMARK)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _watermarked_async(resolve: Any, nodes: Any, info: Info, kwargs: dict[str, Any]) -> Any:
    point = await sync_to_async(current_point)()
    connection = resolve(nodes, info=info, **kwargs)
    if inspect.isawaitable(connection):
        connection = await connection
    return _with_point(connection, point)


def _with_point(connection: Any, point: Point) -> Any:
    connection.point = point
    return connection


@strawberry.type(name="UserTaskStatusEdge")
class UserTaskStatusEdge(DjangoCursorEdge[UserTaskStatusType]):
    pass


@strawberry.type(name="UserTaskStatusConnection")
class UserTaskStatusConnection(Watermarked, CheckedPages, DjangoCursorConnection[UserTaskStatusType]):
    edges: list[UserTaskStatusEdge]  # type: ignore[assignment]


@strawberry.type(name="UserTaskArtifactEdge")
class UserTaskArtifactEdge(DjangoCursorEdge[UserTaskArtifactType]):
    pass


@strawberry.type(name="UserTaskArtifactConnection")
class UserTaskArtifactConnection(CheckedPages, DjangoCursorConnection[UserTaskArtifactType]):
    edges: list[UserTaskArtifactEdge]  # type: ignore[assignment]
