"""A table that records every user_task_stopped signal, so tests can count them across processes."""

from django.db import models


class StoppedSignal(models.Model):
    status_uuid = models.UUIDField()
    task_id = models.CharField(max_length=128)
    state = models.CharField(max_length=32)
    is_container = models.BooleanField()
    received = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.task_id}: {self.state}"
