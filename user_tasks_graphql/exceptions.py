"""Exceptions a task author may see."""

from .core.exceptions import TaskCanceledException, TaskLimitExceeded

__all__ = ["TaskCanceledException", "TaskLimitExceeded"]
