"""The newest state of each status, kept in one place.

Events are full states and a status's ``seq`` grows with every change, so of the events of one
status only the one with the highest ``seq`` matters: the publisher coalesces what waits to be
sent with it, the hub what it read in one go and what it handed out, and each subscription what
its client has not read yet and what the client already knows.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Literal, TypeVar

V = TypeVar("V")
Order = Literal["first", "updated", "arrival"]
UNKNOWN = -1  # the seq of a status nothing is kept of: lower than any real one


class Newest(Generic[V]):
    """Per status uuid, the highest seq offered and the value that came with it (an event, or
    ``None`` where the seq is all that matters).

    ``order`` is the order of the statuses (what ``pop_first``, ``take`` and the bound see):

    - ``"first"``: where a status was first kept, until it is taken: in a queue, a status that
      changes often is not pushed back behind the others each time;
    - ``"updated"``: a status moves last when a newer seq replaces its value, so with ``limit``
      the least recently updated status is forgotten first;
    - ``"arrival"``: a status moves last on every offer, and an offer with the kept seq replaces
      the value: the latest arrival stands for its status (a later read is as new).
    """

    def __init__(self, limit: int | None = None, order: Order = "first") -> None:
        self._kept: OrderedDict[str, tuple[int, V]] = OrderedDict()
        self._limit = limit
        self._moves = order != "first"
        self._by_arrival = order == "arrival"

    def __len__(self) -> int:
        return len(self._kept)

    def seq(self, key: str) -> int:
        """The highest seq kept for ``key``, ``UNKNOWN`` if none is."""
        kept = self._kept.get(key)
        return UNKNOWN if kept is None else kept[0]

    def offer(self, key: str, seq: int, value: V) -> bool:
        """Keep ``value`` if ``seq`` is newer than the kept one; True if it was kept."""
        kept = self._kept.get(key)
        if kept is None or seq > kept[0] or (self._by_arrival and seq == kept[0]):
            self._kept[key] = (seq, value)
            if self._moves:
                self._kept.move_to_end(key)
            if self._limit is not None and len(self._kept) > self._limit:
                self._kept.popitem(last=False)
            return True
        if self._by_arrival:
            self._kept.move_to_end(key)
        return False

    def pop_first(self) -> tuple[str, V]:
        """The first status and its value, no longer kept (``KeyError`` if none is)."""
        key, (_, value) = self._kept.popitem(last=False)
        return key, value

    def take(self) -> list[V]:
        """Every value kept, in order; nothing is kept after."""
        values = [value for _, value in self._kept.values()]
        self._kept.clear()
        return values

    def clear(self) -> None:
        self._kept.clear()
