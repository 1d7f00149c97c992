"""schema.graphql is the committed SDL of the library schema, and merging our pieces works."""

from pathlib import Path

import strawberry
from strawberry.tools import merge_types

from user_tasks_graphql.management.commands.export_user_tasks_schema import sdl
from user_tasks_graphql.schema import Mutation, Query, build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "schema.graphql"


def test_schema_file_is_up_to_date():
    assert SCHEMA_FILE.read_text() == sdl(), "schema.graphql is stale: run `make schema` and commit it"


@strawberry.type
class HostQuery:
    @strawberry.field
    def hello(self) -> str:
        return "world"


def test_host_project_merges_our_pieces():
    merged = build_schema(query=merge_types("Query", (HostQuery, Query)), mutation=Mutation)
    printed = merged.as_str()
    assert "hello: String!" in printed
    assert "userTaskStatuses(" in printed
    assert "cancelUserTask(uuid: UUID!): UserTaskStatus!" in printed
    assert merged.execute_sync("{ hello }").data == {"hello": "world"}


def test_host_project_extends_by_inheritance():
    @strawberry.type
    class MyQuery(Query):
        @strawberry.field
        def version(self) -> str:
            return "1"

    printed = build_schema(query=MyQuery).as_str()
    assert "version: String!" in printed
    assert "userTaskStatus(uuid: UUID!): UserTaskStatus" in printed
