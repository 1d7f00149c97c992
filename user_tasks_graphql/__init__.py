"""Track the Celery tasks users start, and push their progress live over GraphQL.

Public API: ``user_task_stopped`` (sent once per status that reaches Succeeded, Failed or Canceled,
after the database commit; sender ``UserTaskStatus``, keyword ``status``).
"""

from django.dispatch import Signal

__version__ = "0.1.0"

user_task_stopped = Signal()

__all__ = ["__version__", "user_task_stopped"]
