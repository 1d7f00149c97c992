"""Django app config: once the models are ready, each side hooks on to the core."""

from django.apps import AppConfig


class UserTasksGraphQLConfig(AppConfig):
    name = "user_tasks_graphql"
    label = "user_tasks_graphql"
    verbose_name = "User Tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # registers the system checks, the model receivers, the live side's publisher and the
        # worker side's Celery signal handlers (Django: import them once the models are ready)
        from .core import checks, receivers  # noqa: F401
        from .live import publisher  # noqa: F401
        from .worker import signals  # noqa: F401
