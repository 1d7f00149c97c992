"""Exceptions a task author may see."""

from .core.exceptions import TaskCanceledException

__all__ = ["TaskCanceledException"]
