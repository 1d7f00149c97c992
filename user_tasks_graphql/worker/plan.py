"""A published message (or an ``apply_async`` call) as the canvas it belongs to.

The first message of a canvas carries the whole plan (a chain's later steps, a chord's body); a
group's members arrive one message each and join their group.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from celery import current_app

from .messages import TaskMessage
from .spec import UserTaskSpec


@dataclass
class Leaf:
    task_id: str
    task_name: str
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    receives_result: bool = False
    """True for a mutable chain step or chord body: Celery passes it the previous result first."""


@dataclass
class Chain:
    steps: list[Node]


@dataclass
class Group:
    group_id: str
    members: list[Node]
    joins_existing: bool = False
    """True when this plan holds only some members of a group that may already have a row."""


@dataclass
class Chord:
    header: Group
    body: Node | None


Node = Leaf | Chain | Group | Chord


@dataclass
class UserLeaf:
    """A leaf whose task is a user task, with what its row needs."""

    leaf: Leaf
    task: UserTaskSpec
    arguments: dict[str, Any] = field(default_factory=dict)


def plan_message(message: TaskMessage) -> Node:
    """The canvas a message belongs to, as far as the message tells."""
    leaf = Leaf(message.task_id, message.task_name, message.args, message.kwargs)
    if message.chain:
        steps = [node_from_signature(step, follows=True) for step in message.chain]
        chain = Chain([leaf, *steps])
        options = _options(message.chain[-1])
        if options.get("group_id"):
            return _membership(options["group_id"], chain, options.get("chord"))
        return chain
    if message.group_id:
        return _membership(message.group_id, leaf, message.chord_body)
    return leaf


def plan_apply(task_name: str, args: Sequence[Any], kwargs: Mapping[str, Any], options: Mapping[str, Any]) -> Node:
    """The same plan, from the arguments of ``Task.apply_async`` (before a message exists)."""
    return plan_message(
        TaskMessage(
            task_id=options.get("task_id") or "",
            task_name=task_name,
            args=args,
            kwargs=kwargs,
            group_id=options.get("group_id"),
            chain=list(reversed(options.get("chain") or [])),
            chord_body=options.get("chord"),
        )
    )


def _membership(group_id: str, member: Node, chord_body: Mapping[str, Any] | None) -> Node:
    group = Group(group_id, [member], joins_existing=True)
    if chord_body:
        return Chord(group, node_from_signature(chord_body, follows=True))
    return group


def _options(signature: Mapping[str, Any]) -> Mapping[str, Any]:
    return signature.get("options") or {}


def node_from_signature(signature: Mapping[str, Any], follows: bool = False) -> Node:
    """A Celery signature (or its dict form inside a message) as a plan node.

    ``follows``: the signature runs after another task, so a mutable one gets its result.
    """
    kind = signature.get("subtask_type")
    kwargs = signature.get("kwargs") or {}
    if kind == "chain":
        tasks = kwargs.get("tasks", [])
        return Chain([node_from_signature(step, follows or i > 0) for i, step in enumerate(tasks)])
    if kind == "group":
        tasks = kwargs.get("tasks", [])
        return Group(_options(signature).get("task_id") or str(uuid.uuid4()), [node_from_signature(t) for t in tasks])
    if kind == "chord":
        header = node_from_signature(kwargs["header"])
        if not isinstance(header, Group):
            header = Group(str(uuid.uuid4()), [header])
        body = kwargs.get("body")
        return Chord(header, node_from_signature(body, follows=True) if body else None)
    return Leaf(
        task_id=_options(signature).get("task_id") or "",
        task_name=signature.get("task", ""),
        args=signature.get("args") or (),
        kwargs=kwargs,
        receives_result=follows and not signature.get("immutable"),
    )


def user_leaves(node: Node | None) -> Iterator[UserLeaf]:
    """Every leaf of the plan whose task is a user task, in order."""
    if node is None:
        return
    if isinstance(node, Leaf):
        task = current_app.tasks.get(node.task_name)
        if isinstance(task, UserTaskSpec):
            yield UserLeaf(node, task)
    elif isinstance(node, Chain):
        for step in node.steps:
            yield from user_leaves(step)
    elif isinstance(node, Group):
        for member in node.members:
            yield from user_leaves(member)
    else:
        yield from user_leaves(node.header)
        yield from user_leaves(node.body)
