"""GraphQL validation against the library's or the example site's schema.

Its own module because GraphQL documents appear in GraphQL blocks, in Python strings and in
TypeScript template literals: the Python and the other checks both use it.
"""

from __future__ import annotations

import ast
import re
from functools import cache

from graphql import GraphQLError, GraphQLSchema, build_schema, parse, validate

from example_site.demo.schema import schema as example_schema
from user_tasks_graphql.schema import schema as library_schema

GRAPHQL_DOCUMENT = re.compile(r"^\s*(query|mutation|subscription)(\s+\w+)?\s*[({]")


@cache
def graphql_schema(name: str) -> GraphQLSchema:
    return build_schema({"library": library_schema, "example": example_schema}[name].as_str())


def graphql_problems(document: str, schema: str = "library") -> list[str]:
    try:
        return [error.message for error in validate(graphql_schema(schema), parse(document))]
    except GraphQLError as exc:
        return [exc.message]


def graphql_strings_problems(tree: ast.AST) -> list[str]:
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return [problem for text in strings if GRAPHQL_DOCUMENT.match(text) for problem in graphql_problems(text)]
