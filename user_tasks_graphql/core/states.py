"""The six lifecycle states of a user task, and which of them are final."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class UserTaskState(models.TextChoices):
    """Stored values are the ones django-user-tasks used, so existing data reads the same."""

    PENDING = "Pending", _("Pending")
    IN_PROGRESS = "In Progress", _("In Progress")
    RETRYING = "Retrying", _("Retrying")
    SUCCEEDED = "Succeeded", _("Succeeded")
    FAILED = "Failed", _("Failed")
    CANCELED = "Canceled", _("Canceled")


FINISHED_STATES = frozenset({UserTaskState.SUCCEEDED, UserTaskState.FAILED, UserTaskState.CANCELED})
STATE_BY_VALUE: dict[str, UserTaskState] = {state.value: state for state in UserTaskState}
"""A dict lookup: building the enum from a value is slow on the hot path of live events."""
ACTIVE_STATES = frozenset(set(UserTaskState) - FINISHED_STATES)
WAITING_STATES = (UserTaskState.PENDING, UserTaskState.RETRYING)
"""Published and not running: what a worker's start moves to In Progress."""
