"""MkDocs hook: the API reference page, rendered from the committed ``schema.graphql`` at each build.

docs/reference.md holds only its introduction and the marker line; what follows the introduction is
generated here from the schema file (which a unit test keeps equal to the code's schema), so the
reference cannot drift from the API. It needs graphql-core alone, which the library depends on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    is_introspection_type,
    is_specified_directive,
    print_ast,
)

MARKER = "<!-- api-reference: schema.graphql -->"

# the sections of the page, in order: (heading, what a type of it is called, which types belong)
KINDS: list[tuple[str, str, type]] = [
    ("Object types", "Object type", GraphQLObjectType),
    ("Interfaces", "Interface", GraphQLInterfaceType),
    ("Unions", "Union", GraphQLUnionType),
    ("Input types", "Input type", GraphQLInputObjectType),
    ("Enums", "Enum", GraphQLEnumType),
    ("Scalars", "Scalar", GraphQLScalarType),
]


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER not in markdown:
        return markdown
    sdl = (Path(config["config_file_path"]).parent / "schema.graphql").read_text()
    return markdown.replace(MARKER, render(build_schema(sdl)))


def render(schema: GraphQLSchema) -> str:
    """Markdown for every operation, type, field, argument, enum value and custom directive."""
    roots = [root for root in (schema.query_type, schema.mutation_type, schema.subscription_type) if root]
    named = [t for name, t in sorted(schema.type_map.items()) if not is_introspection_type(t) and t not in roots]
    parts = ["## Operations", *(_type(root, "Root type") for root in roots)]
    for heading, label, kind in KINDS:
        members = [t for t in named if isinstance(t, kind)]
        if members:
            parts += [f"## {heading}", *(_type(t, label) for t in members)]
    directives = [d for d in schema.directives if not is_specified_directive(d)]
    if directives:
        parts.append("## Directives")
        parts += [
            f"### @{d.name}\n\n{_text(d.description)}On {', '.join(loc.name for loc in d.locations)}.\n"
            for d in directives
        ]
    return "\n\n".join(parts)


def anchor(name: str) -> str:
    return "type-" + name.lower()


def _type(named: GraphQLNamedType, label: str) -> str:
    lines = [f"### {named.name} {{ #{anchor(named.name)} }}", "", f"*{label}*{_about(named)}.", ""]
    if named.description:
        lines += [named.description.strip(), ""]
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        lines += _table(("Field", "Type", "Description"), [_field(n, f) for n, f in named.fields.items()])
    elif isinstance(named, GraphQLInputObjectType):
        lines += _table(("Field", "Type", "Description"), [_input(n, f) for n, f in named.fields.items()])
    elif isinstance(named, GraphQLEnumType):
        rows = [(f"`{n}`", _cell(v.description) + _deprecated(v.deprecation_reason)) for n, v in named.values.items()]
        lines += _table(("Value", "Description"), rows)
    return "\n".join(lines)


def _about(named: GraphQLNamedType) -> str:
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) and named.interfaces:
        return ", implements " + ", ".join(_link(i) for i in named.interfaces)
    if isinstance(named, GraphQLUnionType):
        return " of " + ", ".join(_link(t) for t in named.types)
    if isinstance(named, GraphQLInputObjectType) and getattr(named, "is_one_of", False):
        return ": exactly one of its fields is given (`@oneOf`)"
    if isinstance(named, GraphQLScalarType) and named.specified_by_url:
        return f", specified by <{named.specified_by_url}>"
    return ""


def _field(name: str, field: GraphQLField) -> tuple[str, ...]:
    description = _cell(field.description) + _deprecated(field.deprecation_reason)
    if field.args:
        arguments = "<br>".join(_argument(n, a) for n, a in field.args.items())
        description = f"{description}<br><br>**Arguments**<br>{arguments}" if description else arguments
    return f"`{name}`", _type_ref(field.type), description


def _argument(name: str, argument: GraphQLArgument) -> str:
    text = _cell(argument.description) + _deprecated(argument.deprecation_reason)
    return f"`{name}`: {_type_ref(argument.type)}{_default(argument)}" + (f": {text}" if text else "")


def _input(name: str, field: GraphQLInputField) -> tuple[str, ...]:
    description = _cell(field.description) + _deprecated(field.deprecation_reason)
    return f"`{name}`", _type_ref(field.type) + _default(field), description


def _default(value: GraphQLArgument | GraphQLInputField) -> str:
    """The default as the SDL writes it (the schema is built from SDL, so its nodes are there)."""
    literal = value.ast_node.default_value if value.ast_node else None
    return f" = `{print_ast(literal)}`" if literal is not None else ""


def _type_ref(type_: Any) -> str:
    """The type as written in SDL (``[X!]!``), its named type linked to its section."""
    if isinstance(type_, GraphQLNonNull):
        return _type_ref(type_.of_type) + "!"
    if isinstance(type_, GraphQLList):
        return f"\\[{_type_ref(type_.of_type)}\\]"
    return _link(type_)


def _link(named: GraphQLNamedType) -> str:
    return f"[`{named.name}`](#{anchor(named.name)})"


def _deprecated(reason: str | None) -> str:
    return f" **Deprecated:** {_cell(reason)}" if reason is not None else ""


def _text(description: str | None) -> str:
    return f"{description.strip()}\n\n" if description else ""


def _cell(text: str | None) -> str:
    """A description inside a table cell: one line, paragraphs kept, pipes escaped."""
    if not text:
        return ""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "<br><br>".join(" ".join(p.split()) for p in paragraphs).replace("|", "\\|")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    if not rows:
        return []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return [*lines, *("| " + " | ".join(row) + " |" for row in rows), ""]
