"""Track the Celery tasks users start, and push their progress live over GraphQL.

The package in sides, each importing only those before it:

- ``core``: the models, their states and state machine, permissions and settings (no transport);
- ``worker``: the Celery base class and signal handlers, which record changes through the core;
- ``live``: publishing the core's changes to the channel layer and handing them to subscriptions;
- the API, here: ``schema``, ``consumers``, ``routing``, ``views``, ``urls``, ``admin``;
- ``adapters``: where other libraries' internals are used, one module per library.

Public API: ``user_task_stopped`` (sent once per status that reaches Succeeded, Failed or Canceled,
after the database commit; sender ``UserTaskStatus``, keyword ``status``).
"""

from .core.signals import user_task_stopped

__version__ = "0.1.0"

__all__ = ["__version__", "user_task_stopped"]
