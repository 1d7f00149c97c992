"""The fenced blocks of README.md and docs/*.md and what their ``<!-- snippet: ... -->`` markers say.

Apart from the checks, so the format of a marker is read in one place (see the package's docstring)
and a wrong marker is reported before any block runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FAMILIES = {"python": "python", "py": "python", "graphql": "graphql", "sh": "shell", "shell": "shell",
            "bash": "shell", "ts": "ts", "tsx": "ts", "js": "ts"}  # fmt: skip
KINDS = {"python": ["run", "settings"], "graphql": ["library", "example"], "shell": ["shell"], "ts": ["ts"]}
MARKER = re.compile(r"^<!--\s*snippet:\s*(?P<spec>.*?)\s*-->$")


@dataclass
class Block:
    source: str  # the document, relative to the repository
    line: int  # its opening fence
    family: str
    code: str
    kind: str = ""
    argument: str = ""  # excerpt: the file; skip: the reason
    aliases: dict[str, str] = field(default_factory=dict)


def read_blocks(source: str, text: str) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a Markdown text with their markers, and what is wrong with the markers."""
    blocks: list[Block] = []
    problems: list[str] = []
    lines = text.splitlines()
    marker: tuple[int, str] | None = None
    number = 0
    while number < len(lines):
        line = lines[number].strip()
        if line.startswith("```"):
            end = next(i for i in range(number + 1, len(lines)) if lines[i].strip() == "```")
            language = line[3:].strip().split(" ")[0]
            block = Block(source, number + 1, FAMILIES.get(language, language), "\n".join(lines[number + 1 : end]))
            try:
                describe(block, marker[1] if marker else "")
                blocks.append(block)
            except ValueError as exc:
                problems.append(f"{source}:{number + 1}: {exc}")
            marker, number = None, end + 1
            continue
        if marker and line:
            problems.append(f"{source}:{marker[0]}: a snippet marker must come right before its block")
            marker = None
        if match := MARKER.match(line):
            marker = (number + 1, match["spec"])
        number += 1
    return blocks, problems


def describe(block: Block, spec: str) -> None:
    """Sets the block's kind and options from its marker (``spec``), or its language's default."""
    kinds = KINDS.get(block.family, [])
    head, _, rest = spec.partition(",")
    kind, _, argument = head.strip().partition(" ")
    if not kind and not kinds:
        raise ValueError(f"nothing checks a {block.family!r} block: mark it `excerpt PATH` or `skip, REASON`")
    block.kind, block.argument = kind or kinds[0], argument.strip()
    if block.kind == "skip":
        block.argument = rest.strip()
        if not block.argument:
            raise ValueError("a skipped block says why: <!-- snippet: skip, REASON -->")
        return
    if block.kind not in [*kinds, "excerpt"] or (block.kind == "excerpt") != bool(block.argument):
        raise ValueError(f"unknown snippet marker {spec!r} for a {block.family!r} block")
    for option in filter(None, (item.strip() for item in rest.split(","))):
        name, equals, target = option.partition("=")
        if not equals:
            raise ValueError(f"unknown option {option!r} (options are NAME=MODULE)")
        block.aliases[name.strip()] = target.strip()


def all_blocks() -> tuple[list[Block], list[str]]:
    blocks, problems = [], []
    for document in DOCUMENTS:
        found, wrong = read_blocks(document.relative_to(ROOT).as_posix(), document.read_text())
        blocks += found
        problems += wrong
    return blocks, problems
