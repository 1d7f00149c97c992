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


def first_selected(rows: QuerySet[Any], info: Info) -> Any:
    """The first of ``rows`` with the relations ``info``'s selection asks for, or None."""
    return optimize(rows, info, config=WHOLE_ROWS).first()
