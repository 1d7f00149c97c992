"""Example Django project: the demo site, and the project the test suite runs against."""

from .celery import app as celery_app

__all__ = ["celery_app"]
