"""Any sequence of a task's changes, with a second thread flushing at any time, keeps exact counts.

A hypothesis state machine drives one task of a group (beside a finished sibling) through
increments, flushes from a second thread (alone, or racing the task's next change), state texts,
totals, artifacts, retries, redeliveries, cancels from elsewhere and its end, and checks after
every step: the task's own count is the current attempt's increments, the row holds them once
written, the group holds its children's sum, and a final row never changes again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from django.db import connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from user_tasks_graphql.exceptions import TaskCanceledException
from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

from ..factories import make_container, make_status, reload

pytestmark = pytest.mark.django_db(transaction=True)

SIBLING_STEPS = 5


def in_other_thread(action: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            action()
        except TaskCanceledException:  # the flusher leaves it for the task's next call
            pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


class StepMachine(RuleBasedStateMachine):
    user: ClassVar[Any]

    def __init__(self) -> None:
        super().__init__()
        self.group = make_container(self.user, kind="group", state="In Progress", total_steps=10)
        make_status(self.user, parent=self.group, state="Succeeded", total_steps=SIBLING_STEPS, completed_steps=5)
        UserTaskStatus.objects.filter(pk=self.group.pk).update(completed_steps=SIBLING_STEPS)
        self.status = make_status(self.user, parent=self.group, state="In Progress", total_steps=5)
        self.counted = 0  # the current attempt's increments
        self.attempts = 1
        self.final: tuple[str, int] | None = None  # a finished row's (state, steps)
        self.errors: list[BaseException] = []

    @property
    def active(self) -> bool:
        return self.final is None and self.status.state != "Retrying"

    def _count(self, steps: int) -> None:
        try:
            self.status.increment_completed_steps(steps)
        except TaskCanceledException:
            assert self.final is not None
            assert self.final[0] == "Canceled"
            return
        self.counted += steps

    @precondition(lambda self: self.active)
    @rule(steps=st.integers(0, 3))
    def increment(self, steps: int) -> None:
        self._count(steps)

    @rule()
    def flusher_flushes(self) -> None:
        in_other_thread(self.status.flush_progress, self.errors).join()

    @precondition(lambda self: self.active)
    @rule(steps=st.integers(1, 3))
    def flusher_races_an_increment(self, steps: int) -> None:
        thread = in_other_thread(self.status.flush_progress, self.errors)
        self._count(steps)
        thread.join()

    @precondition(lambda self: self.active)
    @rule(text=st.sampled_from(["Exporting", "Almost there"]))
    def set_state(self, text: str) -> None:
        self.status.set_state(text)

    @precondition(lambda self: self.active)
    @rule(steps=st.integers(0, 2))
    def increment_total(self, steps: int) -> None:
        self.status.increment_total_steps(steps)

    @precondition(lambda self: self.active)
    @rule()
    def artifact(self) -> None:
        UserTaskArtifact.objects.create(status=self.status, text="part")

    @precondition(lambda self: self.active)
    @rule()
    def retry_then_start(self) -> None:
        self.status.retry()
        assert (reload(self.status).state, reload(self.status).completed_steps) == ("Retrying", 0)
        self.status.start()
        self.counted, self.attempts = 0, self.attempts + 1

    @precondition(lambda self: self.active)
    @rule()
    def redelivered(self) -> None:
        self.status.start()
        self.counted, self.attempts = 0, self.attempts + 1

    @precondition(lambda self: self.active)
    @rule()
    def canceled_elsewhere(self) -> None:
        reload(self.status).cancel(revoke=False)
        self.final = ("Canceled", reload(self.status).completed_steps)

    @precondition(lambda self: self.active)
    @rule(racing=st.booleans())
    def succeed(self, racing: bool) -> None:
        thread = in_other_thread(self.status.flush_progress, self.errors) if racing else None
        self.status.succeed()
        if thread:
            thread.join()
        self.final = ("Succeeded", max(self.counted, reload(self.status).total_steps))

    @precondition(lambda self: self.active)
    @rule()
    def fail(self) -> None:
        self.status.fail("boom")
        self.final = ("Failed", self.counted)

    @invariant()
    def counts_are_exact(self) -> None:
        assert not self.errors, self.errors
        row = reload(self.status)
        assert row.attempts == self.attempts
        if self.final is not None:
            assert (row.state, row.completed_steps) == self.final, "a final row never changes"
            return
        pending = self.status.progress_buffer().pending
        assert self.status.completed_steps == self.counted, "the task's own count is its attempt's increments"
        assert row.completed_steps + pending == self.counted, "every increment is written once"
        assert reload(self.group).completed_steps == SIBLING_STEPS + row.completed_steps


def test_any_sequence_keeps_exact_counts(user: Any, settings: Any) -> None:
    settings.USER_TASKS_PROGRESS_INTERVAL = 60
    StepMachine.user = user
    run_state_machine_as_test(
        StepMachine,
        settings=settings_for_machine(),
    )


def settings_for_machine() -> Any:
    return hypothesis_settings(
        max_examples=40, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
