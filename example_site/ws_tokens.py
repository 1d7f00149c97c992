"""Token authentication for websockets, as docs/api.md shows it: a signed user id in the
``connection_init`` payload, for clients that cannot send the session cookie.

Enable with ``USER_TASKS_WS_AUTHENTICATE = "example_site.ws_tokens.websocket_user"``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing

SALT = "user-tasks-ws"
MAX_AGE = 3600  # seconds a token is accepted after it was issued


def issue_token(user: Any) -> str:
    """A token for ``user``: hand it out from a view the user is logged in to."""
    return signing.dumps(user.pk, salt=SALT)


def websocket_user(connection_params: dict[str, Any], scope: dict[str, Any]) -> Any:
    """The token's user; None keeps the session's; a bad token closes the socket with 4403."""
    token = connection_params.get("token")
    if token is None:
        return None
    try:
        user_id = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature as exc:
        raise PermissionError("invalid token") from exc
    return get_user_model().objects.get(pk=user_id)
