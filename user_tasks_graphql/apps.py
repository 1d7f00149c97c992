"""Django app config: connects the Celery signal handlers once the models are ready."""

from django.apps import AppConfig


class UserTasksGraphQLConfig(AppConfig):
    name = "user_tasks_graphql"
    label = "user_tasks_graphql"
    verbose_name = "User Tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, receivers, signals  # noqa: F401  (registers checks, connects handlers)
