"""Our GraphQL endpoint and django-user-tasks' REST API, served by the same Django process."""

from django.urls import include, path

from example_site.urls import urlpatterns as example_urls

urlpatterns = [*example_urls, path("drf/", include("user_tasks.urls"))]
