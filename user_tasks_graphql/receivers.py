"""Django model signal receivers: an artifact's stored file goes when its row goes."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import UserTaskArtifact


@receiver(post_delete, sender=UserTaskArtifact, dispatch_uid="user_tasks_graphql.delete_artifact_file")
def delete_artifact_file(sender: Any, instance: UserTaskArtifact, **kwargs: Any) -> None:
    """Delete the file after the commit, so a rolled-back delete keeps it."""
    if instance.file and instance.file.name:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name), robust=True)
