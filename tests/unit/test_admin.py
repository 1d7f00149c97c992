"""Admin pages for both models, and the bulk cancel action."""

from typing import Any

import pytest
from django.urls import reverse

from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

from .factories import make_container, make_status

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["usertaskstatus", "usertaskartifact"])
def test_changelists_render(client: Any, superuser: Any, user: Any, model: str):
    status = make_status(user, name="Listed task")
    UserTaskArtifact.objects.create(status=status, text="Listed text")
    client.force_login(superuser)
    response = client.get(reverse(f"admin:user_tasks_graphql_{model}_changelist"))
    assert response.status_code == 200
    assert b"Listed" in response.content


def test_change_form_shows_parent_read_only(client: Any, superuser: Any, user: Any):
    child = make_status(user, parent=make_container(user))
    client.force_login(superuser)
    response = client.get(reverse("admin:user_tasks_graphql_usertaskstatus_change", args=[child.pk]))
    assert response.status_code == 200
    assert b'name="parent"' not in response.content


def test_search_by_username(client: Any, superuser: Any, user: Any, other_user: Any):
    make_status(user, name="mine")
    make_status(other_user, name="theirs")
    client.force_login(superuser)
    response = client.get(reverse("admin:user_tasks_graphql_usertaskstatus_changelist"), {"q": "other_user"})
    assert b"theirs" in response.content
    assert b"mine" not in response.content


def test_cancel_selected_action(client: Any, superuser: Any, user: Any):
    running = make_status(user)
    done = make_status(user, state=UserTaskStatus.SUCCEEDED)
    client.force_login(superuser)
    response = client.post(
        reverse("admin:user_tasks_graphql_usertaskstatus_changelist"),
        {"action": "cancel_selected", "_selected_action": [running.pk, done.pk]},
        follow=True,
    )
    assert b"Canceled 1 task(s)." in response.content
    assert UserTaskStatus.objects.get(pk=running.pk).state == UserTaskStatus.CANCELED
    assert UserTaskStatus.objects.get(pk=done.pk).state == UserTaskStatus.SUCCEEDED


def test_cancel_action_needs_the_cancel_permission(client: Any, user: Any):
    from django.contrib.auth.models import Permission

    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_usertaskstatus"))
    client.force_login(user)
    response = client.get(reverse("admin:user_tasks_graphql_usertaskstatus_changelist"))
    assert response.status_code == 200
    assert b"cancel_selected" not in response.content
