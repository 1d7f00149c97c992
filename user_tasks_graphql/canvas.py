"""Turn a published message (or an ``apply_async`` call) into status rows, containers included.

The first message of a canvas carries the whole plan (a chain's later steps, a chord's body), so
its rows are created at once; a group's members arrive one message each and join their group's
row. A message whose row already exists (a chain step published later by a worker, a retry) adds
nothing.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from celery import current_app
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, router, transaction

from .messages import TaskMessage

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .models import UserTaskStatus
    from .tasks import UserTaskMixin

MISSING_USER_ID = "Each invocation of a UserTaskMixin subclass must include the user_id"


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
    """A leaf whose task is a ``UserTaskMixin``, with what its row needs."""

    leaf: Leaf
    task: UserTaskMixin
    arguments: dict[str, Any] = field(default_factory=dict)


# ---- planning ----------------------------------------------------------------------------------


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
    """Every leaf of the plan whose task is a ``UserTaskMixin``, in order."""
    from .tasks import UserTaskMixin

    if node is None:
        return
    if isinstance(node, Leaf):
        task = current_app.tasks.get(node.task_name)
        if isinstance(task, UserTaskMixin):
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


# ---- validation --------------------------------------------------------------------------------


_checked = threading.local()


@contextmanager
def users_checked(user_ids: set[Any]) -> Iterator[None]:
    """While ``apply_async`` publishes, the users it has just validated are not looked up again
    when the rows are created."""
    previous: frozenset[Any] = getattr(_checked, "user_ids", frozenset())
    _checked.user_ids = previous | user_ids
    try:
        yield
    finally:
        _checked.user_ids = previous


def _just_checked(user_id: Any) -> bool:
    try:
        return user_id in getattr(_checked, "user_ids", frozenset())
    except TypeError:  # unhashable: never validated
        return False


def resolve_user_id(arguments: Mapping[str, Any]) -> Any:
    """The validated ``user_id`` argument: TypeError when absent, ValueError when no such user."""
    if "user_id" not in arguments:
        raise TypeError(MISSING_USER_ID)
    user_id = arguments["user_id"]
    if _just_checked(user_id):
        return user_id
    try:
        exists = get_user_model()._default_manager.filter(pk=user_id).exists()
    except (TypeError, ValueError, ValidationError):
        exists = False
    if not exists:
        raise ValueError(f"Invalid user_id: {user_id!r}")
    return user_id


def leaf_arguments(user_leaf: UserLeaf) -> dict[str, Any]:
    """The leaf's arguments by name, with a validated ``user_id`` (raises TypeError/ValueError).

    A step that receives the previous result is tried with a placeholder for it first.
    """
    leaf, task = user_leaf.leaf, user_leaf.task
    attempts = [(None, *leaf.args), tuple(leaf.args)] if leaf.receives_result else [tuple(leaf.args)]
    error: Exception | None = None
    for args in attempts:
        try:
            arguments = task.arguments_as_dict(*args, **leaf.kwargs)
            resolve_user_id(arguments)
            return arguments
        except (TypeError, ValueError) as exc:
            error = error or exc
    assert error is not None
    raise error


def validate_plan(plan: Node) -> set[Any]:
    """Raise before publishing if any user task in the plan lacks a valid ``user_id``; else the users."""
    return {leaf_arguments(user_leaf)["user_id"] for user_leaf in user_leaves(plan)}


# ---- creating rows -----------------------------------------------------------------------------


class _RowBuilder:
    """Creates the rows of one plan; every row of a canvas belongs to its first task's user."""

    def __init__(self, plan: Node, fresh: bool = False) -> None:
        from .models import UserTaskStatus

        self.model = UserTaskStatus
        self.fresh = fresh  # a first publish of a standalone task: its row is almost never there
        self.leaves: dict[int, UserLeaf] = {}
        for user_leaf in user_leaves(plan):
            leaf = user_leaf.leaf
            if not leaf.task_id:
                continue
            try:
                user_leaf.arguments = leaf_arguments(user_leaf)
            except (TypeError, ValueError):
                logger.exception("No status row for task %s (%s)", leaf.task_id, leaf.task_name)
                continue
            self.leaves[id(leaf)] = user_leaf
        self.user_id: Any = next((u.arguments["user_id"] for u in self.leaves.values()), None)

    def _name_for(self, node: Node) -> str:
        for user_leaf in self._leaves_under(node):
            name = user_leaf.leaf.kwargs.get("user_task_name")
            if name:
                return str(name)
        return ""

    def _leaves_under(self, node: Node | None) -> Iterator[UserLeaf]:
        for user_leaf in user_leaves(node):
            found = self.leaves.get(id(user_leaf.leaf))
            if found is not None:
                yield found

    def _container(self, kind: str, task_id: str, node: Node, parent: UserTaskStatus | None) -> UserTaskStatus:
        return self.model.objects.create(
            task_id=task_id,
            task_class=f"celery.{kind}",
            is_container=True,
            name=self._name_for(node),
            parent=parent,
            total_steps=0,
            user_id=self.user_id,
        )

    def build(self, node: Node) -> None:
        if self.user_id is None:
            return
        if isinstance(node, Chord) and node.header.joins_existing:
            existing = self.model.objects.filter(task_id=node.header.group_id).first()
            if existing is not None:
                self._join(existing, node.header)
                return
        if isinstance(node, Group) and node.joins_existing:
            group, _created = self.model.objects.get_or_create(
                task_id=node.group_id,
                defaults={
                    "task_class": "celery.group",
                    "is_container": True,
                    "name": self._name_for(node),
                    "total_steps": 0,
                    "user_id": self.user_id,
                },
            )
            self._join(group, node)
            return
        self._create(node, None)

    def _join(self, group: UserTaskStatus, node: Group) -> None:
        added = sum(self._create(member, group) for member in node.members)
        if added:
            group.increment_total_steps(added)
        name = self._name_for(node)
        if name and not group.name:
            group.set_name(name)

    def _create(self, node: Node | None, parent: UserTaskStatus | None) -> int:
        """Create the rows of ``node`` under ``parent``; return the steps they add."""
        if node is None or not any(self._leaves_under(node)):
            return 0
        if isinstance(node, Leaf):
            return self._create_leaf(self.leaves[id(node)], parent)
        if isinstance(node, Chain):
            container = self._container("chain", str(uuid.uuid4()), node, parent)
            total = sum(self._create(step, container) for step in node.steps)
        elif isinstance(node, Group):
            container = self._container("group", node.group_id, node, parent)
            total = sum(self._create(member, container) for member in node.members)
        else:
            container = self._container("chord", str(uuid.uuid4()), node, parent)
            total = self._create(node.header, container) + self._create(node.body, container)
        self.model.objects.filter(pk=container.pk).update(total_steps=total)
        return total

    def _create_leaf(self, user_leaf: UserLeaf, parent: UserTaskStatus | None) -> int:
        task, arguments = user_leaf.task, user_leaf.arguments
        total = int(task.calculate_total_steps(arguments))
        fields = {
            "user_id": arguments["user_id"],
            "parent": parent,
            "name": task.generate_name(arguments),
            "task_class": task.name,
            "total_steps": total,
        }
        if (
            self.fresh
            and parent is None
            and not transaction.get_connection(router.db_for_write(self.model)).in_atomic_block
        ):
            return total if self._insert(user_leaf.leaf.task_id, fields) else 0
        _, created = self.model.objects.get_or_create(task_id=user_leaf.leaf.task_id, defaults=fields)
        return total if created else 0

    def _insert(self, task_id: str, fields: dict[str, Any]) -> bool:
        """One INSERT (in autocommit: no lookup, no transaction around it); False if the task id has
        its row already (an id published twice), any other refusal raised."""
        try:
            self.model.objects.create(task_id=task_id, **fields)
        except IntegrityError:
            if self.model.objects.filter(task_id=task_id).exists():
                return False
            raise
        return True


def create_rows(message: TaskMessage) -> None:
    """Create the rows a newly published message needs (none if its row exists already)."""
    from .models import UserTaskStatus

    plan = plan_message(message)
    if isinstance(plan, Leaf):  # one row, which a retry (same id) finds there
        _RowBuilder(plan, fresh=message.retries == 0).build(plan)
        return
    if UserTaskStatus.objects.filter(task_id=message.task_id).exists():
        return
    with transaction.atomic():
        _RowBuilder(plan).build(plan)
