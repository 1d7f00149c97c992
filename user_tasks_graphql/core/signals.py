"""What the core announces, for the other sides to hook on to (it imports none of them).

- ``user_task_stopped`` (public): a status reached Succeeded, Failed or Canceled; sent once, after
  the commit, sender ``UserTaskStatus``, keyword ``status``.
- ``statuses_changed``: these rows changed (keyword ``events``: each row's state as a flat dict,
  see ``events.py``), sent once they are committed; the live side publishes them.
- ``waiting_task_canceled``: a task canceled while still queued (keyword ``task_id``), after the
  commit; the worker side asks Celery to drop its message.
"""

from django.dispatch import Signal

user_task_stopped = Signal()
statuses_changed = Signal()
waiting_task_canceled = Signal()
