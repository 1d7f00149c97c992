"""How many websockets each user holds open in this server process, and the refusal of one more
(``USER_TASKS_WS_MAX_CONNECTIONS_PER_USER``).

The count is per process, not per deployment: what it protects is the process's memory (every
socket may hold 20 subscriptions), and it needs no shared store that could fail or lag.

Every socket of a process runs on the process's one event loop, and ``take`` checks and increments
with no ``await`` between the two, so two sockets of one user arriving together cannot both take
the last slot: no lock is needed as long as ``take`` and ``give_back`` are only called on the loop
(the consumer's coroutines), never from a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

logger = logging.getLogger(__name__)

TOO_MANY_CONNECTIONS = 4429  # graphql-transport-ws's own "too many" code, which its clients never retry
REASON = "Too many connections"

_open: dict[Hashable, int] = {}  # user key -> sockets holding a slot; a user with none has no entry


class QuotaExceeded(Exception):
    """Raised at ``connection_init`` when the user already holds the limit of sockets here."""

    reason = REASON


class Slot:
    """One counted socket. ``give_back`` may be called by every way a socket ends; only the first
    call counts, so a socket closed by the server and then disconnected is not given back twice."""

    __slots__ = ("held", "user")

    def __init__(self, user: Hashable) -> None:
        self.user = user
        self.held = True

    def give_back(self) -> None:
        if not self.held:
            return
        self.held = False
        left = _open[self.user] - 1
        if left:
            _open[self.user] = left
        else:
            del _open[self.user]  # so the dict holds only users with open sockets


def take(user: Hashable, limit: int | None) -> Slot:
    """A slot for one more socket of ``user``, or ``QuotaExceeded`` when ``limit`` are open already."""
    held = _open.get(user, 0)
    if limit is not None and held >= limit:
        logger.warning("Refused a websocket of user %s: %s open in this process already", user, held)
        raise QuotaExceeded(REASON)
    _open[user] = held + 1
    return Slot(user)


def open_sockets(user: Hashable) -> int:
    """Sockets of ``user`` holding a slot in this process (what the limit is checked against)."""
    return _open.get(user, 0)
