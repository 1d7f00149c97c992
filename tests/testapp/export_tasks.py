"""The README's quick-start export task, verbatim but for `my_app` (tests prove the README)."""
# ruff: noqa: UP032
# mypy: ignore-errors

from celery import shared_task

from tests.testapp.models import Course
from user_tasks_graphql.models import UserTaskArtifact
from user_tasks_graphql.tasks import UserTask


class ExportTask(UserTask):

    @classmethod
    def generate_name(cls, arguments_dict):
        course = Course.objects.get(pk=arguments_dict['course_id'])
        return 'Export of {}'.format(course.name)

    @staticmethod
    def calculate_total_steps(arguments_dict):
        course = Course.objects.get(pk=arguments_dict['course_id'])
        return course.sections.count()


@shared_task(base=ExportTask, bind=True)
def export_task(self, user_id, course_id):
    course = Course.objects.get(pk=course_id)
    output = ''
    for section in course.sections.all():
        self.status.set_state('Exporting {}'.format(section.name))
        output += section.export()
        self.status.increment_completed_steps()
    UserTaskArtifact.objects.create(status=self.status, text=output)
