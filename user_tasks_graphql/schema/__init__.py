"""The GraphQL API: ``Query`` and ``Mutation`` to merge into a project's schema, and ``schema``.

from strawberry.tools import merge_types
from user_tasks_graphql.schema import Mutation, Query, build_schema

schema = build_schema(query=merge_types("Query", (MyQuery, Query)), mutation=Mutation)
"""

from .base import UserTasksSchema, build_schema
from .mutations import Mutation
from .queries import Query

schema = build_schema(query=Query, mutation=Mutation)

__all__ = ["Mutation", "Query", "UserTasksSchema", "build_schema", "schema"]
