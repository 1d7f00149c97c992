"""How a status row starts: a waiting row goes In Progress (now, or deferred to its next write), a
running one delivered again begins a new attempt."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import router, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from . import progress, writes
from .row import StatusRow
from .states import ACTIVE_STATES, UserTaskState


class Starting(StatusRow):
    def _defer_start(self, seconds: float) -> None:
        """Start a waiting row without writing yet: In Progress is written with its first other
        change, or after ``seconds`` by the background writer; a task that ends sooner goes
        straight from waiting to its result, in one write."""
        with self._lock():
            self.state, self.state_text = UserTaskState.IN_PROGRESS, ""
            self.progress_buffer().defer_start(seconds)
        progress.watch(self)

    def _drop_deferred_start(self) -> None:
        buffer = self.__dict__.get("_progress")
        if buffer is not None:
            buffer.take_start()

    def _write_start(self) -> None:
        """A waiting row goes In Progress; a running one (redelivered) begins a new attempt."""
        started, events = writes.start(self._model(), [self.pk])
        restarted = not started and not self.is_container and self._begin_attempt(UserTaskState.IN_PROGRESS)
        self._started(bool(started) or restarted, events, self._ancestor_ids() if restarted else [])

    def _begin_attempt(self, state: UserTaskState) -> bool:
        """Count another attempt of this running row and start its steps from zero (its ancestors
        lose what the earlier attempt added), in one transaction; False if it was not running."""
        ancestors = self._ancestor_ids()
        with transaction.atomic(using=router.db_for_write(self._model())):
            done = (
                self._rows()
                .select_for_update()
                .filter(pk=self.pk, state__in=ACTIVE_STATES)
                .values_list("completed_steps", flat=True)
                .first()
            )
            if done is None:
                return False
            row = self._rows().filter(pk=self.pk)
            now = timezone.now()
            began = {"started": now} if state == UserTaskState.IN_PROGRESS else {}
            writes.update(row, now, state=state, state_text="", completed_steps=0, attempts=F("attempts") + 1, **began)
            if done and ancestors:
                less = Greatest(F("completed_steps") - done, Value(0))
                writes.update(self._rows().filter(pk__in=ancestors), completed_steps=less)
        self.progress_buffer().take()  # steps the earlier attempt left in memory end with it
        return True

    def _started(self, started: bool, events: list[dict[str, Any]], touched: Iterable[int] = ()) -> None:
        """After the start's write: waiting ancestors go In Progress too; every change is published."""
        touched = list(touched)
        if started and self.parent_id is not None:
            ancestors = writes.start(self._model(), self._ancestor_ids())
            if ancestors.events:
                touched, events = [*touched, *(e["id"] for e in ancestors.events)], [*events, *ancestors.events]
            elif ancestors.changed:
                touched = [*touched, *self._ancestor_ids()]
        self._sync(touched if started else (), events)
        self._raise_if_canceled()
