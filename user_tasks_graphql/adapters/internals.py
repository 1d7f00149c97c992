"""The once-per-process check an adapter makes of another library's private parts."""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections.abc import Callable


class InternalsCheck:
    """Whether ``distribution`` still has the private parts an adapter relies on.

    ``probe`` returns what is missing (empty: all there). It runs once, on first use; if anything
    is missing, or the probe itself fails (then ``known_as``, what the adapter was written
    against, is what is missing), one warning says what and what the app does instead, and the
    answer holds for the life of the process.
    """

    def __init__(
        self, distribution: str, probe: Callable[[], list[str]], known_as: str, instead: str, logger: logging.Logger
    ) -> None:
        self.distribution = distribution
        self.probe = probe
        self.known_as = known_as
        self.instead = instead
        self.logger = logger
        self.result: tuple[str, ...] | None = None
        self._lock = threading.Lock()

    def missing(self) -> tuple[str, ...]:
        result = self.result
        if result is None:
            with self._lock:
                if self.result is None:
                    self.result = self._run()
                result = self.result
        return result

    def _run(self) -> tuple[str, ...]:
        version = importlib.metadata.version(self.distribution)
        try:
            missing = tuple(self.probe())
        except Exception as exc:  # built otherwise than the adapter knows: what is missing is unknown
            missing = (f"{self.known_as} ({exc!r})",)
        if missing:
            self.logger.warning("%s %s lacks %s: %s", self.distribution, version, ", ".join(missing), self.instead)
        return missing
