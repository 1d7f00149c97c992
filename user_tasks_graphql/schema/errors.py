"""The error codes of the API contract, and how every error gets one.

``UserTasksSchema.process_errors`` (in ``base.py``) runs for HTTP and both websocket protocols,
before and during execution, so it is the one place that classifies errors.
"""

from __future__ import annotations

import logging

from django.core.exceptions import SynchronousOnlyOperation
from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError, StrawberryInputCoercionError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from ..core.exceptions import TaskLimitExceeded

logger = logging.getLogger("user_tasks_graphql.schema")

UNAUTHENTICATED = "UNAUTHENTICATED"
NOT_FOUND = "NOT_FOUND"
FORBIDDEN = "FORBIDDEN"
BAD_USER_INPUT = "BAD_USER_INPUT"
TOO_MANY_TASKS = "TOO_MANY_TASKS"
WATERMARK_EXPIRED = "WATERMARK_EXPIRED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

INTERNAL_MESSAGE = "Internal server error."
_UNEXPECTED = {
    Exception: "Unexpected error in a GraphQL operation",
    SynchronousOnlyOperation: (
        "Unexpected error in a GraphQL operation: a resolver queried the database on the event loop "
        "(the view and the consumer execute asynchronously). Make it a strawberry_django.field, which "
        "runs a plain resolver in a thread, or an async resolver that awaits sync_to_async."
    ),
}


def coded(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def unauthenticated() -> GraphQLError:
    return coded("You must be logged in.", UNAUTHENTICATED)


def not_found(what: str = "User task") -> GraphQLError:
    return coded(f"{what} not found.", NOT_FOUND)


def forbidden(action: str) -> GraphQLError:
    return coded(f"You do not have permission to {action}.", FORBIDDEN)


def bad_input(message: str) -> GraphQLError:
    return coded(message, BAD_USER_INPUT)


def watermark_expired(message: str) -> GraphQLError:
    return coded(message, WATERMARK_EXPIRED)


def classify(error: GraphQLError) -> None:
    """Give ``error`` a contract code in place; hide the message of anything unexpected."""
    extensions = dict(error.extensions or {})
    if extensions.get("code"):
        return
    original = error.original_error
    if isinstance(original, TaskLimitExceeded):  # from a mutation that starts tasks: its message is for the user
        extensions["code"] = TOO_MANY_TASKS
    elif original is None or _is_input_error(original):
        extensions["code"] = BAD_USER_INPUT
    else:
        logger.error(_UNEXPECTED.get(type(original), _UNEXPECTED[Exception]), exc_info=original)
        extensions["code"] = INTERNAL_SERVER_ERROR
        error.message = INTERNAL_MESSAGE
        error.original_error = None
    error.extensions = extensions


def _is_input_error(original: BaseException) -> bool:
    """Argument and variable coercion failures (a malformed UUID, a wrong type) are the client's, and so
    are documents with no operation to run: an empty one, an unknown ``operationName``, fragments only,
    or a query or mutation sent over the legacy ``graphql-ws`` protocol (subscriptions only)."""
    return isinstance(
        original,
        StrawberryInputCoercionError
        | GraphQLError
        | MissingQueryError
        | CannotGetOperationTypeError
        | InvalidOperationTypeError,
    )
