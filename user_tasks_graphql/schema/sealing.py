"""Opaque tokens handed to clients: authenticated encryption (Fernet) keyed on ``SECRET_KEY``, one
key per purpose, so a token of one kind never opens as another. ``SECRET_KEY_FALLBACKS`` still open
the tokens they sealed."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@functools.lru_cache(maxsize=8)
def _sealer(salt: bytes, secrets: tuple[str, ...]) -> MultiFernet:
    keys = [base64.urlsafe_b64encode(hashlib.sha256(salt + secret.encode()).digest()) for secret in secrets]
    return MultiFernet([Fernet(key) for key in keys])


def _current(salt: bytes) -> MultiFernet:
    return _sealer(salt, (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def seal(salt: bytes, text: str) -> str:
    return _current(salt).encrypt(text.encode()).decode()


def unseal(salt: bytes, token: str) -> str | None:
    """The text sealed under ``salt``, or None for a token this server did not seal so."""
    try:
        return _current(salt).decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError, ValueError):
        return None
