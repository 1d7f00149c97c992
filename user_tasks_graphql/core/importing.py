"""Copying django-user-tasks' history into this app's tables (``manage.py import_django_user_tasks``).

Each row is copied once, matched on its uuid, so a second run (or a run after an interrupted one)
copies only what is missing. Statuses go in parents first whatever their order in the source
table: a row whose parent is not copied yet waits for a later pass. Rows are read and written a
batch at a time, each batch's writes in one transaction.

Rows are written with ``bulk_create``, which sends no model signals: ``receivers.py`` announces new
rows from ``post_save``, so historical rows publish no live event and send no ``user_task_stopped``.
``bulk_create`` does run the fields' ``pre_save``, which stamps ``created`` and ``modified`` with
the current time (``auto_now_add``/``auto_now``); the original timestamps are written back with
``bulk_update`` (a plain UPDATE, no ``pre_save``) in the same transaction.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Model

from .legacy_tables import ARTIFACT_TABLE, STATUS_TABLE, LegacyArtifact, LegacyStatus, LegacyTables
from .lifecycle import MAX_STATE_TEXT
from .models import UserTaskArtifact, UserTaskStatus
from .states import FINISHED_STATES, STATE_BY_VALUE, UserTaskState

SKIPPED_TASK_ID = "its task id is already used by another status here (a different uuid)"
SKIPPED_PARENT = "its parent was not imported"
SKIPPED_STATUS = "its status was not imported"
STORAGE_WARNING = (
    "Warning: STORAGES['user_task_artifacts'] is set. django-user-tasks never read it (it stored files in "
    "USER_TASKS_ARTIFACT_STORAGE, else the default storage), so the imported file names may not exist in the "
    "storage this app reads them from; see docs/migrating.md."
)


@dataclass
class Tally:
    new: int = 0
    already_there: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def lines(self, label: str) -> list[str]:
        total = sum(self.skipped.values())
        lines = [f"{label}: {self.new} new, {self.already_there} already there, {total} skipped"]
        lines += [f"  {count} skipped: {reason}" for reason, count in sorted(self.skipped.items()) if count]
        return lines


@dataclass
class ImportReport:
    dry_run: bool
    statuses: Tally = field(default_factory=Tally)
    artifacts: Tally = field(default_factory=Tally)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary the command prints: the same in a dry run, which says so first."""
        head = ["Dry run: nothing was written; an import would give these counts."] if self.dry_run else []
        return [*head, *self.statuses.lines("Statuses"), *self.artifacts.lines("Artifacts"), *self.warnings]


def map_state(state: str) -> tuple[UserTaskState, str]:
    """Our state and progress text for django-user-tasks' state column, which holds one of the six
    states or, for a task that called ``set_state()``, its custom text (the task was running)."""
    known = STATE_BY_VALUE.get(state)
    if known is not None:
        return known, ""
    return UserTaskState.IN_PROGRESS, state[:MAX_STATE_TEXT]


class Importer:
    """One import run: reads django-user-tasks' tables in the database this app's statuses are
    written to, and copies what is missing (or, with ``dry_run``, only counts)."""

    def __init__(
        self, *, dry_run: bool = False, batch_size: int = 1000, progress: Callable[[str], Any] | None = None
    ) -> None:
        self.alias = router.db_for_write(UserTaskStatus)
        self.tables = LegacyTables(connections[self.alias])
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.progress = progress or (lambda _: None)
        self.report = ImportReport(dry_run=dry_run)
        self.present: set[int] = set()
        """Source ids of the statuses that are here (or, in a dry run, would be): their children may follow."""
        self.files_imported = 0

    def run(self) -> ImportReport:
        self.tables.check()
        self._import_statuses()
        self._import_artifacts()
        if self.files_imported and "user_task_artifacts" in settings.STORAGES:
            self.report.warnings.append(STORAGE_WARNING)
        return self.report

    # ---- statuses ------------------------------------------------------------------------------

    def _import_statuses(self) -> None:
        total = self.tables.count(STATUS_TABLE)
        waiting: list[int] = []
        last, read = 0, 0
        while batch := self.tables.statuses_after(last, self.batch_size):
            last, read = batch[-1].id, read + len(batch)
            waiting += self._status_batch(batch)
            self.progress(f"Statuses: {read} of {total} read")
        passes = 1
        while waiting:  # rows that came before their parent: one more pass while any goes in
            passes += 1
            still: list[int] = []
            for start in range(0, len(waiting), self.batch_size):
                still += self._status_batch(self.tables.statuses_with_ids(waiting[start : start + self.batch_size]))
            self.progress(f"Statuses: pass {passes}, {len(waiting) - len(still)} of {len(waiting)} waiting placed")
            if len(still) == len(waiting):
                break
            waiting = still
        self.report.statuses.skipped[SKIPPED_PARENT] += len(waiting)

    def _status_batch(self, rows: list[LegacyStatus]) -> list[int]:
        """Copy the rows whose parent is here, parents within the batch first; return the ids of
        those whose parent is not (yet)."""
        tally = self.report.statuses
        existing = self._existing(UserTaskStatus, [row.uuid for row in rows])
        fresh = [row for row in rows if row.uuid not in existing]
        tally.already_there += len(rows) - len(fresh)
        self.present.update(row.id for row in rows if row.uuid in existing)
        task_ids = [row.task_id for row in fresh]
        taken = set(self._rows(UserTaskStatus).filter(task_id__in=task_ids).values_list("task_id", flat=True))
        candidates = [row for row in fresh if row.task_id not in taken]
        tally.skipped[SKIPPED_TASK_ID] += len(fresh) - len(candidates)
        with self._transaction():
            while ready := [row for row in candidates if row.parent_id is None or row.parent_id in self.present]:
                self._insert_statuses(ready)
                self.present.update(row.id for row in ready)
                tally.new += len(ready)
                placed = {row.id for row in ready}
                candidates = [row for row in candidates if row.id not in placed]
        return [row.id for row in candidates]

    def _insert_statuses(self, rows: list[LegacyStatus]) -> None:
        if self.dry_run:
            return
        parents = self._pks(UserTaskStatus, [row.parent_uuid for row in rows if row.parent_uuid is not None])
        statuses = []
        for row in rows:
            state, state_text = map_state(row.state)
            statuses.append(
                UserTaskStatus(
                    uuid=row.uuid,
                    user_id=row.user_id,
                    task_id=row.task_id,
                    parent_id=None if row.parent_uuid is None else parents[row.parent_uuid],
                    is_container=row.is_container,
                    task_class=row.task_class,
                    name=row.name,
                    state=state,
                    state_text=state_text,
                    completed_steps=row.completed_steps,
                    total_steps=row.total_steps,
                    attempts=row.attempts,
                    finished=row.modified if state in FINISHED_STATES else None,  # its last change
                )
            )
        self._write(UserTaskStatus, statuses, rows)

    # ---- artifacts -----------------------------------------------------------------------------

    def _import_artifacts(self) -> None:
        tally = self.report.artifacts
        total = self.tables.count(ARTIFACT_TABLE)
        last, read = 0, 0
        while batch := self.tables.artifacts_after(last, self.batch_size):
            last, read = batch[-1].id, read + len(batch)
            existing = self._existing(UserTaskArtifact, [row.uuid for row in batch])
            fresh = [row for row in batch if row.uuid not in existing]
            copied = [row for row in fresh if row.status_id in self.present]
            tally.already_there += len(batch) - len(fresh)
            tally.skipped[SKIPPED_STATUS] += len(fresh) - len(copied)
            with self._transaction():
                self._insert_artifacts(copied)
            tally.new += len(copied)
            self.files_imported += sum(1 for row in copied if row.file)
            self.progress(f"Artifacts: {read} of {total} read")

    def _insert_artifacts(self, rows: list[LegacyArtifact]) -> None:
        if self.dry_run or not rows:
            return
        statuses = self._pks(UserTaskStatus, [row.status_uuid for row in rows])
        artifacts = [
            # a file is its stored name, as in the source row: the file itself stays where it is
            UserTaskArtifact(
                uuid=row.uuid,
                status_id=statuses[row.status_uuid],
                name=row.name,
                file=row.file,
                url=row.url,
                text=row.text,
            )
            for row in rows
        ]
        self._write(UserTaskArtifact, artifacts, rows)

    # ---- shared --------------------------------------------------------------------------------

    def _rows(self, model: type[Model]) -> Any:
        return model._default_manager.using(self.alias)

    def _existing(self, model: type[Model], uuids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return set(self._rows(model).filter(uuid__in=uuids).values_list("uuid", flat=True))

    def _pks(self, model: type[Model], uuids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        return dict(self._rows(model).filter(uuid__in=list(uuids)).values_list("uuid", "pk"))

    def _write(self, model: type[Model], objects: list[Any], rows: Sequence[LegacyStatus | LegacyArtifact]) -> None:
        """Insert without signals, then put back the source's timestamps that the insert replaced."""
        self._rows(model).bulk_create(objects)
        pks = self._pks(model, [obj.uuid for obj in objects])
        for obj, row in zip(objects, rows, strict=True):
            obj.pk, obj.created, obj.modified = pks[obj.uuid], row.created, row.modified
        self._rows(model).bulk_update(objects, ["created", "modified"])

    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext() if self.dry_run else transaction.atomic(using=self.alias)


def import_django_user_tasks(
    *, dry_run: bool = False, batch_size: int = 1000, progress: Callable[[str], Any] | None = None
) -> ImportReport:
    """Copy what is missing of django-user-tasks' statuses and artifacts; raises
    ``LegacyTablesMissing`` (with what to do) when its tables are not there."""
    return Importer(dry_run=dry_run, batch_size=batch_size, progress=progress).run()
