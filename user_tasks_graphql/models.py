"""Django's models module of the app; the models live in ``core.models``."""

from .core.models import UserTaskArtifact, UserTaskState, UserTaskStatus, UserTaskTombstone

__all__ = ["UserTaskArtifact", "UserTaskState", "UserTaskStatus", "UserTaskTombstone"]
