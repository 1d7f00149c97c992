"""URLs of the app: ``path("user-tasks/", include("user_tasks_graphql.urls"))``.

``graphql/`` serves the library's own schema, for projects that use it alone; a project with its
own merged schema mounts ``graphql_view(its_schema)`` instead.
"""

from django.urls import path

from .schema import schema
from .views import artifact_file, csrf_cookie, graphql_view

app_name = "user_tasks_graphql"

urlpatterns = [
    path("graphql/", graphql_view(schema), name="graphql"),
    path("artifacts/<uuid:uuid>/file/", artifact_file, name="artifact-file"),
    path("csrf/", csrf_cookie, name="csrf-cookie"),
]
