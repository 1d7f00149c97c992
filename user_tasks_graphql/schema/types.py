"""The GraphQL object types, read from model instances already loaded with what the query asks.

Resolvers here never query the database: the root resolvers load every relation a query selects
(see ``prefetch.py``), so one query per relation serves a whole page.
"""

from __future__ import annotations

import base64
import datetime
import uuid

import strawberry
from django.core.files.storage import FileSystemStorage
from django.urls import NoReverseMatch, reverse

from ..core.models import UserTaskArtifact, UserTaskStatus
from ..core.states import STATE_BY_VALUE, UserTaskState
from .shared_results import SharedResults

UserTaskStateEnum = strawberry.enum(
    UserTaskState,
    name="UserTaskState",
    description="Lifecycle of a task. Custom progress text set by `set_state()` goes to `stateText`, not here.",
)


def opaque_id(kind: str, value: uuid.UUID | str) -> strawberry.ID:
    """Stable, opaque ids: the same in queries and subscription events (Apollo's cache key)."""
    return strawberry.ID(base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode())


def _state(status: UserTaskStatus) -> UserTaskState:
    return STATE_BY_VALUE[status.state]


@strawberry.type(name="UserTaskStatus")
class UserTaskStatusType:
    """A task started for a user (or a chain, group or chord container of such tasks)."""

    instance: strawberry.Private[UserTaskStatus]
    # set on a subscription event that many subscriptions receive: see shared_results.py
    shared_results: strawberry.Private[SharedResults | None] = None

    @strawberry.field(description="Stable identifier, the same in queries and subscription events (Apollo cache key).")
    def id(self) -> strawberry.ID:
        return opaque_id("UserTaskStatus", self.instance.uuid)

    @strawberry.field
    def uuid(self) -> uuid.UUID:
        return self.instance.uuid

    @strawberry.field(description="Celery task id (a container's own id for chains, groups and chords).")
    def task_id(self) -> str:
        return self.instance.task_id

    @strawberry.field
    def task_class(self) -> str:
        return self.instance.task_class

    @strawberry.field
    def name(self) -> str:
        return self.instance.name

    @strawberry.field
    def state(self) -> UserTaskStateEnum:  # type: ignore[valid-type]
        return _state(self.instance)

    @strawberry.field(
        description="Human text: the custom text from set_state() while running, else the translated state name."
    )
    def state_text(self) -> str:
        return self.instance.display_text

    @strawberry.field
    def completed_steps(self) -> int:
        return self.instance.completed_steps

    @strawberry.field
    def total_steps(self) -> int:
        return self.instance.total_steps

    @strawberry.field(description="0..100, completedSteps / totalSteps clamped; 100 when SUCCEEDED.")
    def percent_complete(self) -> float:
        return self.instance.percent_complete

    @strawberry.field
    def attempts(self) -> int:
        return self.instance.attempts

    @strawberry.field
    def is_container(self) -> bool:
        return self.instance.is_container

    @strawberry.field(description="True in SUCCEEDED, FAILED and CANCELED.")
    def is_finished(self) -> bool:
        return self.instance.is_finished

    @strawberry.field
    def parent(self) -> UserTaskStatusType | None:
        parent = self.instance.parent
        return UserTaskStatusType(instance=parent) if parent is not None else None

    @strawberry.field(description="Direct children of a container, oldest first.")
    def children(self) -> list[UserTaskStatusType]:
        return [UserTaskStatusType(instance=child) for child in self.instance.children.all()]

    @strawberry.field(description="Artifacts of this status, oldest first.")
    def artifacts(self) -> list[UserTaskArtifactType]:
        return [UserTaskArtifactType(instance=artifact) for artifact in self.instance.artifacts.all()]

    @strawberry.field
    def created(self) -> datetime.datetime:
        return self.instance.created

    @strawberry.field
    def modified(self) -> datetime.datetime:
        return self.instance.modified


@strawberry.type(name="UserTaskArtifact")
class UserTaskArtifactType:
    """A result of a task: text, a URL or a stored file."""

    instance: strawberry.Private[UserTaskArtifact]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return opaque_id("UserTaskArtifact", self.instance.uuid)

    @strawberry.field
    def uuid(self) -> uuid.UUID:
        return self.instance.uuid

    @strawberry.field(description="Default 'Output'; 'Error' for the message of a failed task.")
    def name(self) -> str:
        return self.instance.name

    @strawberry.field
    def text(self) -> str:
        return self.instance.text

    @strawberry.field
    def url(self) -> str:
        return self.instance.url

    @strawberry.field(description="Download URL of the stored file, null when the artifact has no file.")
    def file_url(self) -> str | None:
        return artifact_file_url(self.instance)

    @strawberry.field
    def status(self) -> UserTaskStatusType:
        return UserTaskStatusType(instance=self.instance.status)

    @strawberry.field
    def created(self) -> datetime.datetime:
        return self.instance.created

    @strawberry.field
    def modified(self) -> datetime.datetime:
        return self.instance.modified


def artifact_file_url(artifact: UserTaskArtifact) -> str | None:
    """Files on a local storage go through the authorized download view; others (S3) sign URLs."""
    if not artifact.file:
        return None
    if isinstance(artifact.file.storage, FileSystemStorage):
        try:
            return reverse("user_tasks_graphql:artifact-file", args=[artifact.uuid])
        except NoReverseMatch:
            return None
    return str(artifact.file.url)
