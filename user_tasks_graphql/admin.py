"""Django admin for statuses and artifacts, with a bulk cancel action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .core.models import UserTaskArtifact, UserTaskStatus
from .core.permissions import CANCEL_STATUS


@admin.register(UserTaskStatus)
class UserTaskStatusAdmin(admin.ModelAdmin):
    list_display = ("created", "uuid", "state", "user", "name", "completed_steps", "total_steps")
    list_filter = ("state",)
    ordering = ("-created",)
    search_fields = ("uuid", "task_id", "task_class", "name", "user__username", "user__email")
    readonly_fields = ("parent",)  # a select over every status would time out on big tables
    list_select_related = ("user",)
    actions = ("cancel_selected",)

    @admin.action(description="Cancel selected tasks", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[UserTaskStatus]) -> None:
        count = 0
        for status in queryset:
            was_finished = status.is_finished
            status.cancel()
            count += not was_finished
        self.message_user(request, f"Canceled {count} task(s).", messages.SUCCESS)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CANCEL_STATUS)


@admin.register(UserTaskArtifact)
class UserTaskArtifactAdmin(admin.ModelAdmin):
    list_display = ("created", "uuid", "status", "name", "text")
    list_filter = ("name",)
    ordering = ("-created",)
    search_fields = ("uuid", "name", "text")
    raw_id_fields = ("status",)
