"""The two tables: one row per user-visible task (and per canvas container), and its artifacts.

The state machine lives in ``lifecycle.StatusLifecycle``; this module holds the columns.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from .conf import artifact_storage
from .lifecycle import StatusLifecycle
from .states import FINISHED_STATES, STATE_BY_VALUE, UserTaskState


class UserTaskStatus(StatusLifecycle, models.Model):
    """The current status of an asynchronous task running on behalf of a particular user.

    Run its methods outside long transactions: each one commits small, atomic updates.
    """

    PENDING = UserTaskState.PENDING
    IN_PROGRESS = UserTaskState.IN_PROGRESS
    RETRYING = UserTaskState.RETRYING
    SUCCEEDED = UserTaskState.SUCCEEDED
    FAILED = UserTaskState.FAILED
    CANCELED = UserTaskState.CANCELED

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Unique ID for use in APIs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, help_text="The user who triggered the task"
    )
    task_id = models.CharField(max_length=128, unique=True, help_text="UUID of the Celery task or container")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        default=None,
        on_delete=models.CASCADE,
        related_name="children",
        help_text="Status of the containing chain, group or chord (if any)",
    )
    is_container = models.BooleanField(default=False, help_text="True for chain, group and chord rows")
    task_class = models.CharField(max_length=128, help_text="Celery task name, or celery.chain/group/chord")
    name = models.CharField(max_length=255, help_text="A name the user understands")
    state = models.CharField(max_length=32, choices=UserTaskState.choices, default=UserTaskState.PENDING)
    state_text = models.CharField(
        max_length=255, blank=True, default="", help_text="Custom progress text from set_state()"
    )
    completed_steps = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField()
    attempts = models.PositiveIntegerField(default=1, help_text="How many times execution was attempted")
    created = models.DateTimeField(auto_now_add=True, db_index=False)
    modified = models.DateTimeField(auto_now=True, help_text="Last change, progress or worker heartbeat")
    started = models.DateTimeField(null=True, blank=True, help_text="When the current attempt went In Progress")
    finished = models.DateTimeField(null=True, blank=True, help_text="When it reached its final state")
    seq = models.PositiveBigIntegerField(default=0, help_text="Grows with every change; orders live events")

    class Meta:
        verbose_name_plural = "user task statuses"
        permissions = [("cancel_usertaskstatus", "Can cancel user task status")]
        indexes = [
            models.Index(fields=["user", "-created"], name="user_task_status_list"),
            models.Index(fields=["state", "modified"], name="user_task_status_reaper"),
        ]

    def __str__(self) -> str:
        return f"<UserTaskStatus: {self.name}>"

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def display_text(self) -> str:
        """The custom text from set_state() while running, else the translated state name."""
        if self.state == UserTaskState.IN_PROGRESS and self.state_text:
            return self.state_text
        return str(STATE_BY_VALUE[self.state].label)

    @property
    def percent_complete(self) -> float:
        """0..100: completed over total steps, clamped; 100 once succeeded."""
        if self.state == UserTaskState.SUCCEEDED:
            return 100.0
        if self.total_steps <= 0:
            return 0.0
        return min(100.0, 100.0 * self.completed_steps / self.total_steps)


class UserTaskArtifact(models.Model):
    """An output of a task for its user: a stored file, a URL, or text kept in the table."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Unique ID for use in APIs")
    status = models.ForeignKey(UserTaskStatus, on_delete=models.CASCADE, related_name="artifacts")
    name = models.CharField(
        max_length=255,
        default="Output",
        help_text="Distinguishes between multiple artifact types for the same task ('Error' for failures)",
    )
    file = models.FileField(
        null=True, blank=True, storage=artifact_storage, upload_to="user_tasks/%Y/%m/%d/", max_length=255
    )
    url = models.TextField(blank=True, validators=[URLValidator()])
    text = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "-created"], name="user_task_artifact_list")]

    def __str__(self) -> str:
        if self.file:
            content = self.file.name
        elif self.url:
            content = self.url
        elif len(self.text) > 50:
            content = self.text[:47] + "..."
        else:
            content = self.text
        return f"<UserTaskArtifact: ({self.name}) {content}>"


class UserTaskTombstone(models.Model):
    """A deleted status, kept for a while so list clients resuming from a watermark learn of the
    deletion (``changes.py``). Not a foreign key to the user: the user may be deleted with it."""

    uuid = models.UUIDField(help_text="The deleted status's uuid")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    deleted = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "deleted"], name="user_task_tombstone_user")]

    def __str__(self) -> str:
        return f"<UserTaskTombstone: {self.uuid}>"


__all__ = ["UserTaskArtifact", "UserTaskState", "UserTaskStatus", "UserTaskTombstone"]
