"""The README's export task runs as the README says."""

import re
from pathlib import Path
from typing import Any

import pytest

from tests.testapp.export_tasks import export_task
from tests.testapp.models import Course, Section
from user_tasks_graphql.models import UserTaskStatus

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_shows_the_task_that_is_tested():
    block = re.search(r"```python\n(from celery import shared_task.*?)```", README.read_text(), re.S)
    assert block is not None
    tested = (Path(__file__).resolve().parents[1] / "testapp" / "export_tasks.py").read_text()
    readme_code = block.group(1).replace("from my_app.models import Course\n", "")
    tested_code = tested.split('"""', 2)[2].replace("from tests.testapp.models import Course\n", "")
    strip = lambda code: [line for line in code.splitlines() if line.strip() and not line.startswith("#")]  # noqa: E731
    assert strip(readme_code) == strip(tested_code)


@pytest.mark.django_db(transaction=True)
def test_export_task_reports_name_steps_text_and_output(user: Any, eager: None):
    course = Course.objects.create(name="Django 101")
    for name in ("Intro", "Models", "Views"):
        Section.objects.create(course=course, name=name, body=name.lower())
    result = export_task.delay(user.id, course.id)
    status = UserTaskStatus.objects.get(task_id=result.id)
    assert (status.name, status.state) == ("Export of Django 101", "Succeeded")
    assert (status.completed_steps, status.total_steps) == (3, 3)
    assert status.state_text == "Exporting Views"
    assert status.artifacts.get().text == "[Intro]intro[Models]models[Views]views"
