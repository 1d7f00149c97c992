"""What a host project adds to its own schema to serve ours inside it.

``UserTaskErrorCodes`` gives the errors of our root fields the contract's codes (and hides the
message of anything unexpected) and leaves every other error as the host's schema made it: a host
keeps its own error handling. ``build_schema`` does the same for every error, as a schema that is
ours alone may.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import StreamExecutionResult
from strawberry.utils.str_converters import to_camel_case

from ..core.exceptions import TaskLimitExceeded
from .errors import classify
from .mutations import Mutation
from .queries import Query
from .subscriptions import Subscription

ROOT_FIELD_NAMES = frozenset(  # as GraphQL spells them in an error's path
    field.graphql_name or to_camel_case(field.python_name)
    for root in (Query, Mutation, Subscription)
    for field in root.__strawberry_definition__.fields  # type: ignore[union-attr]
)


def is_ours(error: GraphQLError) -> bool:
    """Raised under one of our root fields (the first entry of its path), or our refusal of a
    task over the user's limit, wherever the host's mutation started it."""
    if isinstance(error.original_error, TaskLimitExceeded):
        return True
    return bool(error.path) and error.path[0] in ROOT_FIELD_NAMES  # type: ignore[index]


class UserTaskErrorCodes(SchemaExtension):
    """Errors of our root fields carry ``extensions.code``; the host's are left alone."""

    def _code(self, result: object) -> None:
        for error in getattr(result, "errors", None) or ():
            if is_ours(error):
                classify(error)

    def on_operation(self) -> Iterator[None]:
        yield
        self._code(self.execution_context.result)  # graphql-core's result or Strawberry's: both have errors

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        self._code(result)
        yield None
