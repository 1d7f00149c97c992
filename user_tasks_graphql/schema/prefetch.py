"""Load every relation a query selects up front: one query per relation, whatever the page size.

The GraphQL resolvers in ``types.py`` read only from memory, so what they need must be here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, Prefetch, QuerySet

from ..core.models import UserTaskArtifact, UserTaskStatus

# GraphQL field -> (ORM relation, related model, many?)
RELATIONS: dict[type[Model], dict[str, tuple[str, type[Model], bool]]] = {
    UserTaskStatus: {
        "parent": ("parent", UserTaskStatus, False),
        "children": ("children", UserTaskStatus, True),
        "artifacts": ("artifacts", UserTaskArtifact, True),
    },
    UserTaskArtifact: {"status": ("status", UserTaskStatus, False)},
}
ORDER = ("created", "id")


@dataclass
class LoadPlan:
    select_related: set[str] = field(default_factory=set)
    prefetch: dict[str, type[Model]] = field(default_factory=dict)

    def key(self) -> str:
        return f"{sorted(self.select_related)}|{sorted(self.prefetch)}"

    def apply(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.select_related:
            queryset = queryset.select_related(*sorted(self.select_related))
        lookups = [
            Prefetch(path, queryset=model._default_manager.order_by(*ORDER))
            for path, model in sorted(self.prefetch.items(), key=lambda item: item[0].count("__"))
        ]
        return queryset.prefetch_related(*lookups) if lookups else queryset


def _fields(selections: Iterable[Any]) -> Iterable[Any]:
    """Selected fields, with fragments (named and inline) flattened."""
    for selection in selections:
        if hasattr(selection, "name") and not hasattr(selection, "type_condition"):
            yield selection
        else:
            yield from _fields(getattr(selection, "selections", ()))


def plan_for(
    model: type[Model],
    selections: Sequence[Any],
    plan: LoadPlan | None = None,
    prefix: str = "",
    joined: bool = True,
) -> LoadPlan:
    """Walk ``selections`` (a type's selected fields) and add each relation's ORM path.

    A chain of to-one relations from the root is joined (``select_related``); anything at or
    below a to-many relation is prefetched.
    """
    plan = plan or LoadPlan()
    for selected in _fields(selections):
        relation = RELATIONS[model].get(selected.name)
        if relation is None:
            continue
        attribute, related, many = relation
        path = f"{prefix}{attribute}"
        if many or not joined:
            plan.prefetch[path] = related
            plan_for(related, selected.selections, plan, f"{path}__", joined=False)
        else:
            plan.select_related.add(path)
            plan_for(related, selected.selections, plan, f"{path}__", joined=True)
    return plan


def sub_selections(selections: Sequence[Any], *names: str) -> list[Any]:
    """The selections found under ``names`` (e.g. ``edges``, ``node``), fragments included."""
    current = list(selections)
    for name in names:
        current = [child for selected in _fields(current) if selected.name == name for child in selected.selections]
    return current
