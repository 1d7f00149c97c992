"""Strings that no stored text can hold are the client's mistake, refused before any resolver runs.

PostgreSQL's text types refuse NUL, and a lone UTF-16 surrogate (JSON's ``"\\ud800"``) has no
UTF-8 encoding, so either one used to fail deep in a query as an internal error. Every argument of
every field takes its value from a string literal of the document or from a variable, so checking
those two once per operation covers every argument there is: the library's filters, a project's
own mutations, and whatever else is merged into the schema, over HTTP and both websocket protocols.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from .errors import BAD_USER_INPUT

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_WHY = "a NUL character (\\u0000) or a lone surrogate (\\ud800-\\udfff), which no stored text can hold"


def unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[StringValueNode] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if unstorable(node.value):
            self.found.append(node)


def literal_errors(document: DocumentNode) -> list[GraphQLError]:
    """One error for each string literal of ``document`` that holds what no column can store."""
    literals = _StringLiterals()
    visit(document, literals)
    return [
        GraphQLError(f"A string in the document holds {_WHY}.", nodes=node, extensions={"code": BAD_USER_INPUT})
        for node in literals.found
    ]


def _may_hold_unstorable_literals(query: str | None) -> bool:
    """Whether walking the document is needed (it costs more than the check of the text): a literal
    holds NUL or a surrogate only if the text has it raw or escaped (``\\u0000``, ``\\u{0}``)."""
    return query is None or "\\u" in query or unstorable(query)


def variable_errors(variables: Mapping[str, Any] | None) -> list[GraphQLError]:
    """One error for each variable whose value holds such a string anywhere: in a list, in an input
    object's values or its keys. Walked without recursion: variables may nest deep."""
    return [
        GraphQLError(f"Variable '${name}' holds {_WHY}.", extensions={"code": BAD_USER_INPUT})
        for name, value in (variables or {}).items()
        if unstorable(name) or any(unstorable(text) for text in _strings(value))
    ]


def _strings(value: Any) -> Iterator[str]:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            yield from (key for key in item if isinstance(key, str))
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)


class RefuseUnstorableStrings(SchemaExtension):
    """Refuses an operation, before it executes, when a string it carries could not be stored.

    Raised from ``on_execute``, which Strawberry turns into an error result on every path (query,
    mutation, subscription; HTTP and websockets), with the code set here."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        errors = variable_errors(context.variables)
        if context.graphql_document is not None and _may_hold_unstorable_literals(context.query):
            errors += literal_errors(context.graphql_document)
        if errors:
            raise errors[0]
        yield


__all__ = ["RefuseUnstorableStrings", "literal_errors", "unstorable", "variable_errors"]
