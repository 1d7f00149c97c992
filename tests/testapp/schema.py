"""A host project's own strawberry-django schema with the task API merged in (docs/api.md,
"Adding the task API to your strawberry-django schema")."""

from __future__ import annotations

import strawberry
import strawberry_django
from strawberry.tools import merge_types
from strawberry.types import Info
from strawberry_django.optimizer import DjangoOptimizerExtension

from user_tasks_graphql.adapters.graphql_core import executor_class
from user_tasks_graphql.schema import Mutation, Query, Subscription, UserTaskErrorCodes, UserTaskStatusType
from user_tasks_graphql.tasks import status_for

from .models import Course
from .tasks import step_task


@strawberry_django.type(Course)
class CourseType:
    name: str
    export_tasks: list[UserTaskStatusType] = strawberry_django.field(description="This course's exports.")


@strawberry.type
class CourseQuery:
    courses: list[CourseType] = strawberry_django.field()

    @strawberry.field
    def course_report(self) -> str:
        raise ValueError("The course report is not ready.")


@strawberry.type
class CourseMutation:
    @strawberry.mutation
    def rename_course(self, name: str) -> str:
        return name

    @strawberry.mutation
    def export_course(self, info: Info, name: str) -> str:
        """Starts an export on our base class for the viewer: the uuid to follow it by."""
        return str(status_for(step_task.delay(info.context["request"].user.pk, name)).uuid)


schema = strawberry.Schema(
    query=merge_types("Query", (CourseQuery, Query)),
    mutation=merge_types("Mutation", (CourseMutation, Mutation)),
    subscription=Subscription,
    extensions=[DjangoOptimizerExtension, UserTaskErrorCodes],
    execution_context_class=executor_class(),  # subscription events executed once per distinct request
)
