"""Artifact rows: string forms and URL validation."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from user_tasks_graphql.models import UserTaskArtifact

from ..factories import make_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def status(user: Any) -> Any:
    return make_status(user)


def test_file_string(status: Any):
    assert str(UserTaskArtifact(status=status, file="file.txt")) == "<UserTaskArtifact: (Output) file.txt>"


def test_text_string(status: Any):
    artifact = UserTaskArtifact(status=status, text="This was the output text.")
    assert str(artifact) == "<UserTaskArtifact: (Output) This was the output text.>"


def test_long_text_string(status: Any):
    text = "blah " * 50
    assert str(UserTaskArtifact(status=status, name="Cropped", text=text)) == (
        "<UserTaskArtifact: (Cropped) " + text[:47] + "...>"
    )


def test_url_string(status: Any):
    assert (
        str(UserTaskArtifact(status=status, url="http://www.edx.org/"))
        == "<UserTaskArtifact: (Output) http://www.edx.org/>"
    )


def test_long_signed_url_is_stored(status: Any):
    url = "https://bucket.s3.amazonaws.com/export.csv?X-Amz-Signature=" + "a" * 1500
    artifact = UserTaskArtifact.objects.create(status=status, url=url)
    artifact.full_clean()
    assert UserTaskArtifact.objects.get(pk=artifact.pk).url == url


def test_invalid_url_fails_validation(status: Any):
    with pytest.raises(ValidationError, match="url"):
        UserTaskArtifact(status=status, url="not a url").full_clean()
