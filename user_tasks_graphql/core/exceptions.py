"""Exceptions a task author may see."""


class TaskCanceledException(RuntimeError):
    """Raised inside a running task when it notices that its status was canceled.

    The task stops at its next ``start()``, ``increment_completed_steps()`` or ``set_state()`` call
    (cooperative cancellation); the status stays Canceled.
    """


class TaskLimitExceeded(RuntimeError):
    """Raised by ``delay()``/``apply_async()`` when a user would have more unfinished tasks than
    ``USER_TASKS_MAX_ACTIVE_PER_USER`` allows; nothing of the call was published."""

    def __init__(self, user_id: object, limit: int, active: int, asked: int) -> None:
        self.user_id, self.limit, self.active, self.asked = user_id, limit, active, asked
        super().__init__(f"User {user_id} has {active} unfinished tasks; {asked} more would pass the limit of {limit}.")
