"""The embedded mode: a Celery worker in a thread of the web server, for a demo with nothing installed.

With no ``REDIS_URL`` the broker and the channel layer live in memory, so the worker must run in
the same process as the server; production runs ``celery worker`` processes instead.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

logger = logging.getLogger(__name__)
_started = threading.Event()


def start_embedded_worker() -> None:
    """Start the in-process worker once (threads pool), if the settings ask for it."""
    if not getattr(settings, "EMBEDDED_WORKER", False) or _started.is_set():
        return
    _started.set()
    from example_site.celery import app

    worker = app.WorkController(
        pool_cls="threads", concurrency=4, without_heartbeat=True, without_mingle=True, without_gossip=True,
        loglevel="WARNING", hostname="embedded@demo",
    )  # fmt: skip
    threading.Thread(target=worker.start, name="embedded-celery-worker", daemon=True).start()
    logger.warning("Embedded Celery worker started (threads, in-memory broker)")
