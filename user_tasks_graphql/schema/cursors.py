"""Cursors as clients see them: strawberry-django's keyset cursors, encrypted.

A keyset cursor holds the values of its row's ordering columns, among them the row's primary
key, which would tell any user how many tasks the whole site has had. Sealed with Fernet
(authenticated encryption, keyed on ``SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` still open the
cursors they sealed), a cursor reveals nothing and a forged or altered one is refused.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from .errors import bad_input

SALT = b"user_tasks_graphql.schema.cursors"


@functools.lru_cache(maxsize=4)
def _sealer(secrets: tuple[str, ...]) -> MultiFernet:
    keys = [base64.urlsafe_b64encode(hashlib.sha256(SALT + secret.encode()).digest()) for secret in secrets]
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _sealer((settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def seal(cursor: str) -> str:
    return _current().encrypt(cursor.encode()).decode()


def unseal(cursor: str) -> str:
    """The cursor strawberry-django made, or ``BAD_USER_INPUT`` for one this server did not seal."""
    try:
        return _current().decrypt(cursor.encode()).decode()
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise bad_input(f"Invalid cursor: {cursor[:40]!r}.") from exc
