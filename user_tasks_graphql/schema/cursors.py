"""Cursors as clients see them: strawberry-django's keyset cursors, sealed.

A keyset cursor holds the values of its row's ordering columns, among them the row's primary
key, which would tell any user how many tasks the whole site has had. Sealed (``sealing.py``), a
cursor reveals nothing and a forged or altered one is refused.
"""

from __future__ import annotations

from . import sealing
from .errors import bad_input

SALT = b"user_tasks_graphql.schema.cursors"


def seal(cursor: str) -> str:
    return sealing.seal(SALT, cursor)


def unseal(cursor: str) -> str:
    """The cursor strawberry-django made, or ``BAD_USER_INPUT`` for one this server did not seal."""
    opened = sealing.unseal(SALT, cursor)
    if opened is None:
        raise bad_input(f"Invalid cursor: {cursor[:40]!r}.")
    return opened
