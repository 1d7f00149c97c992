"""The GraphQL API: ``Query``, ``Mutation`` and ``Subscription`` and the types to merge into a
project's strawberry-django schema, and a ready ``schema`` for projects that use ours alone.

In a project's own schema (docs/api.md)::

    schema = strawberry.Schema(
        query=merge_types("Query", (MyQuery, Query)), mutation=..., subscription=Subscription,
        extensions=[DjangoOptimizerExtension, UserTaskErrorCodes],
    )

``build_schema`` builds a schema that is ours alone: every error coded, the abuse limits, the
executor that shares subscription results.
"""

from .base import UserTasksSchema, build_schema
from .connections import UserTaskArtifactConnection, UserTaskStatusConnection
from .filters import UserTaskStatusFilter, UserTaskStatusOrder
from .host import UserTaskErrorCodes
from .mutations import Mutation
from .queries import Query
from .subscriptions import Subscription
from .types import UserTaskArtifactType, UserTaskStateEnum, UserTaskStatusType

schema = build_schema(query=Query, mutation=Mutation, subscription=Subscription)

__all__ = [
    "Mutation",
    "Query",
    "Subscription",
    "UserTaskArtifactConnection",
    "UserTaskArtifactType",
    "UserTaskErrorCodes",
    "UserTaskStateEnum",
    "UserTaskStatusConnection",
    "UserTaskStatusFilter",
    "UserTaskStatusOrder",
    "UserTaskStatusType",
    "UserTasksSchema",
    "build_schema",
    "schema",
]
