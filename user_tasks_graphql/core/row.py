"""What every change of a status object shares: its lock, its ancestors, and how the object and
the outside learn the row's new state."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction

from .events import load_events
from .exceptions import TaskCanceledException
from .progress import ProgressBuffer
from .signals import statuses_changed
from .states import UserTaskState

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

SYNCED = (
    "state", "state_text", "completed_steps", "total_steps", "attempts", "name", "modified", "started", "finished",
    "seq",
)  # fmt: skip
MOMENTS = frozenset({"modified", "started", "finished"})  # times, which events carry as ISO strings


def publish(model: type[Model], events: list[dict[str, Any]]) -> None:
    """Hand committed rows' events to whoever listens (the live side); receivers must not raise."""
    if events:
        statuses_changed.send(sender=model, events=events)


def announce(model: type[Model], pks: Iterable[int]) -> None:
    """Publish the committed state of these rows (after the transaction, if there is one)."""
    pks = list(pks)
    if pks:
        transaction.on_commit(lambda: publish(model, load_events(model, pks)), robust=True)


class StatusRow:
    """The base of ``UserTaskStatus``'s state machine (``lifecycle.StatusLifecycle``)."""

    if TYPE_CHECKING:
        pk: int
        parent_id: int | None
        is_container: bool
        task_id: str
        task_class: str
        state: str
        state_text: str
        completed_steps: int
        total_steps: int
        attempts: int
        seq: int
        modified: datetime.datetime

    def _model(self) -> type[Model]:
        return type(self)  # type: ignore[return-value]

    def _rows(self) -> QuerySet[Any]:
        return self._model()._default_manager.all()

    def ancestors(self) -> list[tuple[int, str]]:
        """``(pk, task_class)`` of the parent, grandparent, ...; cached, since a parent never changes."""
        cached: list[tuple[int, str]] | None = self.__dict__.get("_ancestors")
        if cached is None:
            cached = []
            parent_id = self.parent_id
            while parent_id is not None:
                row = self._rows().filter(pk=parent_id).values_list("parent_id", "task_class").first()
                if row is None:
                    break
                cached.append((parent_id, row[1]))
                parent_id = row[0]
            self.__dict__["_ancestors"] = cached
        return cached

    def _ancestor_ids(self) -> list[int]:
        return [pk for pk, _ in self.ancestors()]

    def progress_buffer(self) -> ProgressBuffer:
        """Steps counted in memory, and the lock every change of this object takes (``ProgressBuffer``)."""
        buffer: ProgressBuffer | None = self.__dict__.get("_progress")
        if buffer is None:
            buffer = self.__dict__["_progress"] = ProgressBuffer()
        return buffer

    def _lock(self) -> threading.RLock:
        return self.progress_buffer().lock

    def _sync(self, touched: Iterable[int], written: Iterable[dict[str, Any]] = ()) -> None:
        """Reload this row and publish every touched row; outside a transaction the rows an UPDATE
        returned (``written``) are not read again, the others are read at once."""
        touched = {self.pk, *touched}
        model = self._model()
        if transaction.get_connection().in_atomic_block:
            self._reload()
            announce(model, touched)
            return
        known = {event["id"]: event for event in written}
        missing = touched - known.keys()
        events = [*known.values(), *(load_events(model, missing) if missing else [])]
        mine = next((event for event in events if event["id"] == self.pk), None)
        if mine is None:
            raise TaskCanceledException(f"The status of task {self.task_id} was deleted")
        for name in SYNCED:
            value = mine[name]
            setattr(self, name, datetime.datetime.fromisoformat(value) if name in MOMENTS and value else value)
        self.completed_steps += self.progress_buffer().pending
        publish(model, events)

    def _reload(self) -> None:
        """Reload what the methods change; a row deleted under a running task cancels it."""
        try:
            self.refresh_from_db(fields=list(SYNCED))  # type: ignore[attr-defined]
        except type(self).DoesNotExist as exc:  # type: ignore[attr-defined]
            raise TaskCanceledException(f"The status of task {self.task_id} was deleted") from exc
        self.completed_steps += self.progress_buffer().pending

    def _raise_if_canceled(self) -> None:
        if self.state == UserTaskState.CANCELED and not self.is_container:
            raise TaskCanceledException(f"Task {self.task_id} was canceled")
