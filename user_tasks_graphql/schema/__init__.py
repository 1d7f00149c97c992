"""The GraphQL API: ``Query``, ``Mutation`` and ``Subscription`` to merge into a project's
schema, and a ready ``schema`` for projects that use ours alone. For example::

    schema = build_schema(
        query=merge_types("Query", (MyQuery, Query)), mutation=Mutation, subscription=Subscription
    )
"""

from .base import UserTasksSchema, build_schema
from .mutations import Mutation
from .queries import Query
from .subscriptions import Subscription

schema = build_schema(query=Query, mutation=Mutation, subscription=Subscription)

__all__ = ["Mutation", "Query", "Subscription", "UserTasksSchema", "build_schema", "schema"]
