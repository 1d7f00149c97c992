"""Shell, TypeScript and excerpt blocks, and ``check``, which sends any block to its checks.

What a shell command names (make targets, files, modules, manage.py commands, pip requirements)
is checked without running it, against the repository and the installed packages.
"""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from functools import cache
from pathlib import Path

from django.core.management import get_commands
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .blocks import ROOT, Block
from .graphql_checks import GRAPHQL_DOCUMENT, graphql_problems
from .python_checks import find_module, import_problems, run_python

PATH = re.compile(r"/|\.(py|md|graphql|toml|json|ts|tsx|sh|ya?ml|txt)$")  # a shell word naming a file
COMMENT = r"(\s+(#|//).*)?"  # an excerpt's line may add a comment to the file's


@cache
def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    rules = re.findall(r"^(\w[\w.-]*(?:[ \t]+[\w.-]+)*)[ \t]*:(?!=)", makefile, re.M)
    return {t for rule in rules + re.findall(r"^\.PHONY:(.*)$", makefile, re.M) for t in rule.split()}


@cache
def declared_requirements() -> tuple[str, dict[str, list[str]], set[str]]:
    """The project's name, its extras, and every package it declares anywhere."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = [*project["dependencies"], *(r for requirements in extras.values() for r in requirements)]
    names = {canonicalize_name(Requirement(r).name) for r in declared}
    return canonicalize_name(project["name"]), extras, names


def module_reference_problems(reference: str) -> list[str]:
    """``package.module[:name]`` must be a module of the repository or installed, defining ``name``."""
    module, _, name = reference.partition(":")
    spec = find_module(module)
    if spec is None or spec.origin is None:
        return [f"{reference}: no module {module}"]
    tree = ast.parse(Path(spec.origin).read_text())
    defined = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    defined |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    defined |= {a.asname or a.name for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    return [f"{reference}: {module} defines no {name}"] if name and name not in defined else []


def command_problems(words: list[str]) -> list[str]:
    while words and re.match(r"^\w+=", words[0]):  # VARIABLE=value before the command
        words = words[1:]
    if not words or words[0] == "export":
        return []
    problems = []
    if words[0] == "make":
        targets = [t for t in words[1:] if t[0] != "-"]
        problems += [f"make {t}: no such target in the Makefile" for t in targets if t not in make_targets()]
    if "pip" in words[:3] and "install" in words:
        project, extras, names = declared_requirements()
        for text in (w for w in words[words.index("install") + 1 :] if w[0] != "-"):
            requirement = Requirement(text)
            name = canonicalize_name(requirement.name)
            if name == project:
                problems += [f"{text}: no extra {e!r} in pyproject.toml" for e in requirement.extras - set(extras)]
            elif name not in names:
                problems.append(f"{text}: not a package pyproject.toml declares")
    for previous, word in zip(["", *words], words, strict=False):
        if previous.endswith("manage.py") and word not in get_commands():
            problems.append(f"manage.py {word}: no such command")
        if previous in ("-A", "--app") or re.fullmatch(r"[A-Za-z_]\w*(\.\w+)*:\w+", word):
            problems += module_reference_problems(word)
        elif PATH.search(word) and not re.match(r"[-$/~]|\w+://", word) and not (ROOT / word).exists():
            problems.append(f"{word}: no such file in the repository")
    return problems


def shell_problems(block: Block) -> list[str]:
    text = block.code.replace("\\\n", " ")
    for name, target in block.aliases.items():
        text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", target, text)
    problems = []
    for line in text.splitlines():
        command: list[str] = []
        for word in [*shlex.split(line, comments=True), ";"]:
            if word in (";", "&&", "||", "|"):
                problems += command_problems(command)
                command = []
            else:
                command.append(word)
    return problems


def excerpt_problems(block: Block) -> list[str]:
    """Each line of the block is a line of the file, in order; a line may add a trailing comment."""
    source = [line.rstrip() for line in (ROOT / block.argument).read_text().splitlines()]
    position = 0
    for line in (line.rstrip() for line in block.code.splitlines() if line.strip()):
        same = (
            i
            for i, s in enumerate(source)
            if i >= position and s.strip() and re.fullmatch(re.escape(s) + COMMENT, line)
        )
        found = next(same, None)
        if found is None:
            return [f"not in {block.argument} (after its line {position}): {line.strip()!r}"]
        position = found + 1
    return []


def check(block: Block) -> list[str]:
    """What is wrong with the block; a Python block that fails to run raises."""
    problems: list[str] = []
    if block.family == "python":
        try:
            problems += import_problems(ast.parse(block.code))
        except SyntaxError:
            if block.kind not in ("skip", "excerpt"):
                raise
    if block.kind == "skip":
        return problems
    if block.kind == "excerpt":
        return problems + excerpt_problems(block)
    if block.family == "python":
        return problems + run_python(block)
    if block.family == "graphql":
        return graphql_problems(block.code, block.kind)
    if block.family == "shell":
        return shell_problems(block)
    documents = [d for d in re.findall(r"`([^`]*)`", block.code) if GRAPHQL_DOCUMENT.match(d)]
    if not documents:
        return ["a TypeScript block with no GraphQL document: mark it `excerpt PATH` or `skip, REASON`"]
    return [problem for document in documents for problem in graphql_problems(document)]
