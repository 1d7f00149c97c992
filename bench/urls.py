"""Our GraphQL endpoint, django-user-tasks' REST API and celery-progress's view, served by one Django process."""

import rules
from django.urls import include, path
from user_tasks.rules import add_rules

from example_site.urls import urlpatterns as example_urls

# django-user-tasks ships its object rules (owners may view their statuses) unregistered; its
# detail endpoint answers only once they are, through django-rules' backend (bench/settings.py).
if not rules.perm_exists("user_tasks.view_usertaskstatus"):
    add_rules()

urlpatterns = [
    *example_urls,
    path("drf/", include("user_tasks.urls")),
    path("celery-progress/", include("celery_progress.urls")),
]
