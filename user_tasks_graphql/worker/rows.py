"""Create the status rows of a plan, containers included.

A message whose row already exists (a chain step published later by a worker, a retry) adds
nothing; a group's members join their group's row one message at a time.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from django.db import IntegrityError, router, transaction

from ..core import writes
from ..core.models import UserTaskStatus
from .messages import TaskMessage
from .plan import Chain, Chord, Group, Leaf, Node, UserLeaf, plan_message, user_leaves
from .users import leaf_arguments

logger = logging.getLogger(__name__)


class _RowBuilder:
    """Creates the rows of one plan; every row of a canvas belongs to its first task's user."""

    def __init__(self, plan: Node, fresh: bool = False) -> None:
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
        writes.update(self.model.objects.filter(pk=container.pk), total_steps=total)
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
        if self.fresh and parent is None:
            return total if self._insert(user_leaf.leaf.task_id, fields) else 0
        _, created = self.model.objects.get_or_create(task_id=user_leaf.leaf.task_id, defaults=fields)
        return total if created else 0

    def _insert(self, task_id: str, fields: dict[str, Any]) -> bool:
        """One INSERT, no lookup first (in autocommit no transaction around it; inside one, such as
        the user's quota check, a savepoint); False if the task id has its row already (an id
        published twice), any other refusal raised."""
        alias = router.db_for_write(self.model)
        savepoint = transaction.atomic(using=alias) if transaction.get_connection(alias).in_atomic_block else None
        try:
            with savepoint or contextlib.nullcontext():
                self.model.objects.create(task_id=task_id, **fields)
        except IntegrityError:
            if self.model.objects.filter(task_id=task_id).exists():
                return False
            raise
        return True


def create_rows(message: TaskMessage) -> None:
    """Create the rows a newly published message needs (none if its row exists already)."""
    plan = plan_message(message)
    if isinstance(plan, Leaf):  # one row, which a retry (same id) finds there
        _RowBuilder(plan, fresh=message.retries == 0).build(plan)
        return
    if UserTaskStatus.objects.filter(task_id=message.task_id).exists():
        return
    with transaction.atomic():
        _RowBuilder(plan).build(plan)
