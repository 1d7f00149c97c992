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


class Course(models.Model):
    """The model the README's export task reads (from django-user-tasks' getting-started guide)."""

    name = models.CharField(max_length=100)
    export_tasks = models.ManyToManyField("user_tasks_graphql.UserTaskStatus", blank=True, related_name="courses")

    def __str__(self) -> str:
        return self.name


class Section(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sections")
    name = models.CharField(max_length=100)
    body = models.TextField()

    def __str__(self) -> str:
        return self.name

    def export(self) -> str:
        return f"[{self.name}]{self.body}"
