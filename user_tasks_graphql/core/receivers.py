"""Django model signal receivers: an artifact is a change of its status, a new or deleted status is
announced, and an artifact's stored file goes when its row goes."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import writes
from .changes import record_deletion
from .events import deletion_event, event_from_instance
from .models import UserTaskArtifact, UserTaskStatus
from .row import announce, publish


@receiver(post_save, sender=UserTaskArtifact, dispatch_uid="user_tasks_graphql.artifact_saved")
def artifact_saved(sender: Any, instance: UserTaskArtifact, created: bool, **kwargs: Any) -> None:
    """A new artifact is a change of its status: write pending progress first, then announce."""
    status = instance._state.fields_cache.get("status")
    if status is not None:
        status.flush_progress()
    writes.update(UserTaskStatus.objects.filter(pk=instance.status_id))
    announce(UserTaskStatus, [instance.status_id])


@receiver(post_save, sender=UserTaskStatus, dispatch_uid="user_tasks_graphql.status_created")
def status_created(sender: Any, instance: UserTaskStatus, created: bool, **kwargs: Any) -> None:
    """A new task is news for its owner's task list: a standalone task's event is the row just
    written (no read after the commit). A child's names its parent and a container's steps are
    counted after its insert, in the same transaction: those are read once committed."""
    if not created:
        return
    if instance.parent_id is not None or instance.is_container:
        announce(UserTaskStatus, [instance.pk])
        return
    event = event_from_instance(instance)
    transaction.on_commit(lambda: publish(UserTaskStatus, [event]), robust=True)


@receiver(post_delete, sender=UserTaskStatus, dispatch_uid="user_tasks_graphql.status_deleted")
def status_deleted(sender: Any, instance: UserTaskStatus, **kwargs: Any) -> None:
    """Tell live subscribers the status is gone (their subscription completes), and keep a
    tombstone for list subscribers who resume later."""
    record_deletion(instance)
    event = deletion_event(instance)
    transaction.on_commit(lambda: publish(UserTaskStatus, [event]), robust=True)


@receiver(post_delete, sender=UserTaskArtifact, dispatch_uid="user_tasks_graphql.delete_artifact_file")
def delete_artifact_file(sender: Any, instance: UserTaskArtifact, **kwargs: Any) -> None:
    """Delete the file after the commit, so a rolled-back delete keeps it."""
    if instance.file and instance.file.name:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name), robust=True)
