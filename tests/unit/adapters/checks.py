"""Helpers for the adapters' tests: an adapter's once-per-process check made anew, with the warnings
it logs, and the tiny types of the executors' test schemas."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import strawberry

from user_tasks_graphql.adapters.internals import InternalsCheck


class Warnings(logging.Handler):
    """The warnings one logger logs (the project's loggers may not propagate to caplog's)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def checked_anew(monkeypatch: pytest.MonkeyPatch, check: InternalsCheck) -> Iterator[Warnings]:
    """The adapter as in a new process (nothing checked yet), with the warnings it logs."""
    monkeypatch.setattr(check, "result", None)
    warnings = Warnings()
    check.logger.addHandler(warnings)
    try:
        yield warnings
    finally:
        check.logger.removeHandler(warnings)


@strawberry.type
class Tick:
    number: int
    label: str


@strawberry.type
class Query:
    ok: bool = True
