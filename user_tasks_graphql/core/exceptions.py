"""Exceptions a task author may see."""


class TaskCanceledException(RuntimeError):
    """Raised inside a running task when it notices that its status was canceled.

    The task stops at its next ``start()``, ``increment_completed_steps()`` or ``set_state()`` call
    (cooperative cancellation); the status stays Canceled.
    """
