"""URLs of the example site."""

from django.contrib import admin
from django.urls import include, path

from user_tasks_graphql.schema import schema
from user_tasks_graphql.views import graphql_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("graphql/", graphql_view(schema), name="graphql"),
    path("user-tasks/", include("user_tasks_graphql.urls")),
]
