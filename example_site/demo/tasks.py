"""The demo tasks: a stepped task that can fail on purpose, and an export that builds a CSV file."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from celery import shared_task
from django.core.files.base import ContentFile

from user_tasks_graphql.models import UserTaskArtifact
from user_tasks_graphql.tasks import UserTask


class DemoTask(UserTask):
    @classmethod
    def generate_name(cls, arguments_dict: dict[str, Any]) -> str:
        return f"Demo task ({arguments_dict['steps']} steps)"

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return int(arguments_dict["steps"])


@shared_task(base=DemoTask, bind=True, name="demo.demo_task")
def demo_task(
    self: Any, user_id: int, steps: int, step_seconds: float, fail_at_step: int | None = None, **kwargs: Any
) -> str:
    """``steps`` steps of ``step_seconds`` each, reporting each one; fails at ``fail_at_step``."""
    for step in range(1, steps + 1):
        self.status.set_state(f"Step {step} of {steps}")
        if step == fail_at_step:
            raise RuntimeError(f"Failed at step {step}")
        time.sleep(step_seconds)
        self.status.increment_completed_steps()
    UserTaskArtifact.objects.create(status=self.status, name="Output", text=f"done: {steps} steps")
    return "done"


class ExportTask(UserTask):
    @classmethod
    def generate_name(cls, arguments_dict: dict[str, Any]) -> str:
        return f"Export of {arguments_dict['rows']} rows"

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return int(arguments_dict["rows"])


@shared_task(base=ExportTask, bind=True, name="demo.export_csv")
def export_csv(self: Any, user_id: int, rows: int, row_seconds: float = 0.05, **kwargs: Any) -> None:
    """A realistic export: builds a CSV row by row, then stores it as a downloadable file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "square"])
    for row in range(1, rows + 1):
        self.status.set_state(f"Exporting row {row} of {rows}")
        writer.writerow([row, row * row])
        if row_seconds:
            time.sleep(row_seconds)
        self.status.increment_completed_steps()
    artifact = UserTaskArtifact(status=self.status, name="Output")
    artifact.file.save(f"export-{self.request.id}.csv", ContentFile(buffer.getvalue().encode()))
