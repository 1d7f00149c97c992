"""URLs of the example site."""

from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

from example_site.demo.schema import schema
from example_site.demo.views import spa
from user_tasks_graphql.views import graphql_view

urlpatterns = [
    path("", spa, name="spa"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("graphql/", graphql_view(schema), name="graphql"),
    path("user-tasks/", include("user_tasks_graphql.urls")),
    *staticfiles_urlpatterns(),  # DEBUG only: the demo serves the built SPA itself
]
