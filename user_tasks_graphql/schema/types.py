"""The GraphQL object types, strawberry-django types of the two models.

A host project's strawberry-django types can return them from their own fields (``list[UserTaskStatusType]``
through ``strawberry_django.field()``), and the optimizer loads what a query selects of them: every
computed field names the columns it reads (``only``). Each type's ``get_queryset`` keeps rows the
viewer may not see out of every list and relation, ours or the host's (``core.permissions``).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, ClassVar

import strawberry
import strawberry_django
from django.core.files.storage import FileSystemStorage
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from strawberry import relay
from strawberry.types import Info

from ..adapters.strawberry_django import column_field
from ..core.models import UserTaskArtifact, UserTaskStatus
from ..core.permissions import visible_artifacts, visible_statuses
from ..core.states import UserTaskState
from .context import viewer

UserTaskStateEnum = strawberry.enum(
    UserTaskState,
    name="UserTaskState",
    description="Lifecycle of a task. Custom progress text set by `set_state()` goes to `stateText`, not here.",
)


def _state_text(root: UserTaskStatus) -> str:
    return root.display_text


def _percent_complete(root: UserTaskStatus) -> float:
    return root.percent_complete


def _is_finished(root: UserTaskStatus) -> bool:
    return root.is_finished


def _file_url(root: UserTaskArtifact) -> str | None:
    return artifact_file_url(root)


@strawberry_django.type(UserTaskStatus, name="UserTaskStatus")
class UserTaskStatusType(relay.Node):
    """A task started for a user (or a chain, group or chord container of such tasks)."""

    _id_attr: ClassVar[str | None] = "uuid"
    uuid: uuid.UUID
    task_id: str = strawberry_django.field(
        description="Celery task id (a container's own id for chains, groups and chords)."
    )
    task_class: str
    name: str
    state: UserTaskStateEnum  # type: ignore[valid-type]
    state_text: str = column_field(
        _state_text,
        only=["state", "state_text"],
        description="Human text: the custom text from set_state() while running, else the translated state name.",
    )
    completed_steps: int
    total_steps: int
    percent_complete: float = column_field(
        _percent_complete,
        only=["state", "completed_steps", "total_steps"],
        description="0..100, completedSteps / totalSteps clamped; 100 when SUCCEEDED.",
    )
    attempts: int
    seq: int = strawberry_django.field(
        description="Grows with every change of this status: of two states of it, keep the one with the higher seq."
    )
    is_container: bool
    is_finished: bool = column_field(
        _is_finished, only=["state"], description="True in SUCCEEDED, FAILED and CANCELED."
    )
    parent: UserTaskStatusType | None
    children: list[UserTaskStatusType] = strawberry_django.field(
        description="Direct children of a container, oldest first."
    )
    artifacts: list[UserTaskArtifactType] = strawberry_django.field(
        description="Artifacts of this status, oldest first."
    )
    created: datetime.datetime
    modified: datetime.datetime
    started: datetime.datetime | None = strawberry_django.field(
        description="When the current attempt went IN_PROGRESS; null before (and for a task canceled waiting)."
    )
    finished: datetime.datetime | None = strawberry_django.field(
        description="When the task reached its final state; null while it is not finished."
    )

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Any], info: Info, **kwargs: Any) -> QuerySet[Any]:
        if _under_a_visible_status(info):  # a container's children: its owner's, so visible too
            return queryset
        return restricted(queryset, visible_statuses(viewer(info)))


@strawberry_django.type(UserTaskArtifact, name="UserTaskArtifact")
class UserTaskArtifactType(relay.Node):
    """A result of a task: text, a URL or a stored file."""

    _id_attr: ClassVar[str | None] = "uuid"
    uuid: uuid.UUID
    name: str = strawberry_django.field(description="Default 'Output'; 'Error' for the message of a failed task.")
    text: str
    url: str
    file_url: str | None = column_field(
        _file_url,
        only=["uuid", "file"],
        description="Download URL of the stored file, null when the artifact has no file.",
    )
    status: UserTaskStatusType
    created: datetime.datetime
    modified: datetime.datetime

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Any], info: Info, **kwargs: Any) -> QuerySet[Any]:
        if _under_a_visible_status(info):  # a visible status's artifacts are visible by definition
            return queryset
        return restricted(queryset, visible_artifacts(viewer(info)))


def restricted(queryset: QuerySet[Any], visible: QuerySet[Any]) -> QuerySet[Any]:
    """``queryset``'s rows that are also ``visible`` (Django combines only querysets that are both
    distinct or both not: a filter's ``DISTINCT: true`` makes the list's distinct)."""
    if queryset.query.distinct:
        visible = visible.distinct(*queryset.query.distinct_fields)
    return queryset & visible


def _under_a_visible_status(info: Info) -> bool:
    """Whether the rows are loaded for a field of one of our statuses, which passed the viewer's
    visibility already (a host's type reaching our types has its rows filtered)."""
    return getattr(info.path, "typename", None) == "UserTaskStatus"


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
