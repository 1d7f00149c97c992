"""What planning reads of a user task before it runs: its arguments, name and number of steps."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any


class UserTaskSpec:
    """The hooks a task author overrides (``UserTaskMixin`` builds on this)."""

    if TYPE_CHECKING:
        name: str

    @classmethod
    def generate_name(cls, arguments_dict: dict[str, Any]) -> str:
        """The name users see; override to build it from the arguments."""
        return cls.__name__.rsplit(".", 1)[-1]

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        """How many steps the progress bar has; override for real progress."""
        return 1

    @classmethod
    def arguments_as_dict(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Every parameter of ``run`` by name (``*args``/``**kwargs`` under their own names)."""
        run = inspect.getattr_static(cls, "run")
        if isinstance(run, staticmethod):  # a task declared without bind=True
            return inspect.getcallargs(run.__func__, *args, **kwargs)
        return inspect.getcallargs(cls.run, None, *args, **kwargs)  # type: ignore[attr-defined]
