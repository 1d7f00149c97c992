"""Loading one row with what an operation selects of it, through strawberry-django's optimizer.

Whole rows, never ``only()``: the code around a single row reads more than the selection (the
permission check its owner, a subscription its ``seq`` and state), and a deferred column read later
would cost a query each time, on the event loop where queries are refused.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from strawberry.types import Info
from strawberry_django.optimizer import OptimizerConfig, optimize

WHOLE_ROWS = OptimizerConfig(enable_only=False)


def selects_any(selections: list[Any], names: frozenset[str]) -> bool:
    """Whether a selection names any of ``names`` at its own level, fragments included."""
    for selection in selections:
        if not hasattr(selection, "name") or hasattr(selection, "type_condition"):
            if selects_any(getattr(selection, "selections", []), names):
                return True
        elif selection.name in names:
            return True
    return False


def first_selected(rows: QuerySet[Any], info: Info) -> Any:
    """The first of ``rows`` with the relations ``info``'s selection asks for, or None."""
    return optimize(rows, info, config=WHOLE_ROWS).first()
