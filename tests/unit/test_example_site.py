"""The example site's own commands."""

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command


@pytest.mark.django_db
def test_seed_demo_creates_a_working_login_and_is_repeatable(client: Any):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert "username 'demo', password 'demo'" in out.getvalue()
    user = authenticate(username="demo", password="demo")
    assert user is not None
    assert user.is_superuser
    client.force_login(user)
    assert client.get("/admin/user_tasks_graphql/usertaskstatus/").status_code == 200
