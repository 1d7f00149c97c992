"""kombu's Redis broker transport, made to survive a worker losing Redis (a restart, a failover).

Select it with ``CELERY_BROKER_TRANSPORT = "user_tasks_graphql.adapters.kombu_redis:Transport"`` for a
``redis://`` broker URL (docs/operations.md, "Broker restarts").

Why: with Celery 5.7 a prefork worker holding an unacknowledged message (``acks_late``, or one
prefetched) exited when Redis went away. On connection loss the consumer calls
``Connection.collect()``, whose close of the consuming channel stops early (the pending BRPOP
reply cannot be read) and which then detaches the kombu connection from the transport
(``transport.client = None``). Celery 5.7 then also calls ``connection.close()``: that second
close restores the unacknowledged messages through a new pool, whose ``_connparams()`` reads
``self.connection.client.hostname`` and raises AttributeError. ``ignore_errors()`` only ignores
connection errors, so the worker stops ("Unrecoverable error") and nothing consumes any more.

Here a channel keeps the parameters it last connected with and reuses them once detached, as
long as it lives: the restore then reaches Redis or fails with a connection error (which Celery
ignores), and a task still running acknowledges its message as it did before Celery 5.7.

Checked against kombu 5.7.0 with Celery 5.7.0 and redis-py 8.2.0; harmless with Celery 5.6.3,
which does not close twice. It only overrides ``Channel._connparams``, and changes nothing while
the transport is attached: if kombu renames it, the override is never called and the transport is
kombu's own (the first channel checks it, once per process, and logs a warning then).
tests/reliability/test_broker_restart.py says when kombu no longer needs it.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from kombu.transport import redis as kombu_redis

from .internals import InternalsCheck

logger = logging.getLogger(__name__)


def _probe() -> list[str]:
    method = getattr(kombu_redis.Channel, "_connparams", None)
    if not callable(method):
        return ["Channel._connparams"]
    if "asynchronous" not in inspect.signature(method).parameters:
        return ["Channel._connparams(asynchronous)"]
    return []


CHECK = InternalsCheck(
    "kombu",
    _probe,
    "the Redis transport as kombu 5.7 builds it",
    "the Redis transport is kombu's own: a worker may stop when Redis restarts (docs/operations.md)",
    logger,
)


class Channel(kombu_redis.Channel):
    """A Redis channel whose cleanup still knows where Redis is after its transport let go."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        CHECK.missing()
        # kombu's __init__ already connects (a PING through the asynchronous pool)
        self._remembered_connparams: dict[bool, dict[str, Any]] = {}
        super().__init__(*args, **kwargs)

    def _connparams(self, asynchronous: bool = False, *args: Any, **kwargs: Any) -> dict[str, Any]:
        transport = self.connection
        if transport is None or transport.client is None:  # closed, or detached by Connection.collect()
            remembered = self._remembered_connparams.get(asynchronous)
            if remembered is not None:
                return dict(remembered)
        params: dict[str, Any] = super()._connparams(asynchronous, *args, **kwargs)  # type: ignore[misc]  # private
        self._remembered_connparams[asynchronous] = dict(params)
        return params


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`Channel`."""

    Channel = Channel
