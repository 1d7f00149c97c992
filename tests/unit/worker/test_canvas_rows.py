"""Rows created when a task or canvas is published (memory broker: nothing runs)."""

from typing import Any

import pytest
from celery import chain, chord, group
from django.db import transaction

from example_site.celery import app as celery_app
from tests.testapp import tasks
from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.tasks import status_for
from user_tasks_graphql.worker.signals import create_user_task

pytestmark = pytest.mark.django_db


def rows() -> list[UserTaskStatus]:
    return list(UserTaskStatus.objects.order_by("id"))


def test_create_user_task(user: Any):
    result = tasks.step_task.delay(user.id, "Argument")
    [status] = rows()
    assert status.task_id == result.id
    assert status.task_class == "tests.testapp.tasks.step_task"
    assert status.user_id == user.id
    assert status.parent is None
    assert not status.is_container
    assert (status.name, status.total_steps) == ("StepTask: Argument", 1)
    assert (status.state, status.completed_steps, status.attempts) == (UserTaskStatus.PENDING, 0, 1)


def test_generate_name_omitted_uses_the_function_name(user: Any):
    tasks.minimal_task.delay(user.id, "Argument")
    assert [s.name for s in rows()] == ["minimal_task"]


@pytest.mark.parametrize(
    ("args", "kwargs", "name", "total"),
    [
        ((1, 2), {}, "SampleTask: 1, 2", 2),
        ((3,), {"arg2": 4}, "SampleTask: 3, 4", 12),
        ((), {"arg2": 6, "arg1": 5}, "SampleTask: 5, 6", 30),
    ],
)
def test_generate_name_and_total_steps_from_arguments(user: Any, args: tuple, kwargs: dict, name: str, total: int):
    tasks.sample_task.apply_async(
        (user.id, *args) if args else (), {**kwargs, **({} if args else {"user_id": user.id})}
    )
    [status] = rows()
    assert (status.name, status.total_steps) == (name, total)


def test_task_registered_under_a_custom_name(user: Any):
    tasks.custom_named_task.delay(user.id, "x")
    assert [s.task_class for s in rows()] == ["custom.registered.name"]


def test_unbound_user_task_gets_its_arguments_right(user: Any):
    tasks.unbound_user_task.delay(user.id, "x")
    [status] = rows()
    assert (status.user_id, status.total_steps) == (user.id, 2)


def test_missing_user_id_refuses_the_publish(db: Any):
    with pytest.raises(TypeError, match="must include the user_id"):
        tasks.missing_user_id.apply_async(kwargs={"argument": "x", "total_steps": 1})
    with pytest.raises(TypeError, match="user_id"):
        tasks.minimal_task.apply_async(kwargs={"argument": "x"})
    assert rows() == []


@pytest.mark.parametrize("bad_user", ["arg1", 999_999, None])
def test_invalid_user_id_refuses_the_publish(db: Any, bad_user: Any):
    with pytest.raises(ValueError, match="Invalid user_id"):
        tasks.step_task.delay(bad_user, "arg2")
    assert rows() == []


def test_invalid_user_in_a_later_chain_step_refuses_the_whole_chain(user: Any):
    with pytest.raises(ValueError, match="Invalid user_id: 424242"):
        chain(tasks.step_task.si(user.id, "1"), tasks.step_task.si(424242, "2")).delay()
    assert rows() == []


def test_non_user_task_publish_creates_nothing(db: Any):
    tasks.normal_task.delay("Argument")
    assert rows() == []


def test_create_group(user: Any):
    result = group(
        tasks.step_task.s(user.id, "1"), tasks.step_task.s(user.id, "2", user_task_name="Group: 1, 2")
    ).delay()
    container, *children = rows()
    assert (container.task_class, container.task_id, container.parent) == ("celery.group", result.id, None)
    assert container.is_container
    assert (container.name, container.total_steps, container.state) == (
        "Group: 1, 2",
        2,
        UserTaskStatus.PENDING,
    )
    assert [(c.name, c.parent_id, c.is_container, c.total_steps) for c in children] == [
        ("StepTask: 1", container.pk, False, 1),
        ("StepTask: 2", container.pk, False, 1),
    ]


def test_create_chain(user: Any):
    chain(
        tasks.step_task.si(user.id, "1"),
        tasks.step_task.si(user.id, "2", user_task_name="Chain: 1, 2, 3"),
        tasks.step_task.si(user.id, "3"),
        tasks.normal_task.si("Argument"),
    ).delay()
    container, *children = rows()
    assert (container.task_class, container.parent, container.is_container) == ("celery.chain", None, True)
    assert (container.name, container.total_steps, container.state) == (
        "Chain: 1, 2, 3",
        3,
        UserTaskStatus.PENDING,
    )
    assert [(c.name, c.parent_id, c.task_class) for c in children] == [
        (f"StepTask: {i}", container.pk, "tests.testapp.tasks.step_task") for i in (1, 2, 3)
    ]


def test_chain_step_that_receives_the_previous_result(user: Any):
    chain(tasks.step_task.si(user.id, "1"), tasks.result_step_task.s(user_id=user.id, argument="2")).delay()
    assert [s.name for s in rows()] == ["", "StepTask: 1", "StepTask: 2"]


def test_create_chord(user: Any):
    chord(
        [
            tasks.step_task.s(user.id, "1"),
            tasks.step_task.s(user.id, "2", user_task_name="Chord: 1 & 2, then 3"),
        ]
    )(tasks.step_task.s(user.id, "3"))
    by_class = {s.task_class: s for s in rows() if s.is_container}
    chord_row, group_row = by_class["celery.chord"], by_class["celery.group"]
    assert (chord_row.parent, chord_row.name, chord_row.total_steps) == (None, "Chord: 1 & 2, then 3", 3)
    assert (group_row.parent_id, group_row.name, group_row.total_steps) == (
        chord_row.pk,
        "Chord: 1 & 2, then 3",
        2,
    )
    leaves = {s.name: s.parent_id for s in rows() if not s.is_container}
    assert leaves == {"StepTask: 1": group_row.pk, "StepTask: 2": group_row.pk, "StepTask: 3": chord_row.pk}
    assert {s.state for s in rows()} == {UserTaskStatus.PENDING}


def test_create_chord_excluding_a_non_user_body(user: Any):
    chord(
        [
            tasks.step_task.s(user.id, "1", user_task_name="Chord: 1 & 2"),
            tasks.step_task.s(user.id, "2", user_task_name="I should be ignored"),
        ]
    )(tasks.normal_task.s("Argument"))
    assert len(rows()) == 4
    chord_row = UserTaskStatus.objects.get(task_class="celery.chord")
    assert (chord_row.total_steps, chord_row.name) == (2, "Chord: 1 & 2")


def test_chain_inside_a_group(user: Any):
    result = group(
        chain(tasks.step_task.si(user.id, "a"), tasks.step_task.si(user.id, "b")),
        tasks.step_task.si(user.id, "c"),
    ).delay()
    group_row = UserTaskStatus.objects.get(task_class="celery.group")
    chain_row = UserTaskStatus.objects.get(task_class="celery.chain")
    assert group_row.task_id == result.id
    assert chain_row.parent_id == group_row.pk
    assert group_row.total_steps == 3
    assert chain_row.total_steps == 2
    parents = {s.name: s.parent_id for s in rows() if not s.is_container}
    assert parents == {"StepTask: a": chain_row.pk, "StepTask: b": chain_row.pk, "StepTask: c": group_row.pk}


def test_group_inside_a_chain(user: Any):
    chain(
        tasks.step_task.si(user.id, "a"),
        group(tasks.step_task.si(user.id, "b"), tasks.step_task.si(user.id, "c")),
        tasks.step_task.si(user.id, "d"),
    ).delay()
    kinds = {s.task_class: s for s in rows() if s.is_container}
    assert set(kinds) == {"celery.chain", "celery.chord", "celery.group"}, "Celery turns group-then-task into a chord"
    chain_row, chord_row, group_row = kinds["celery.chain"], kinds["celery.chord"], kinds["celery.group"]
    assert (chord_row.parent_id, group_row.parent_id) == (chain_row.pk, chord_row.pk)
    parents = {s.name: s.parent_id for s in rows() if not s.is_container}
    assert parents == {
        "StepTask: a": chain_row.pk,
        "StepTask: b": group_row.pk,
        "StepTask: c": group_row.pk,
        "StepTask: d": chord_row.pk,
    }
    assert (chain_row.total_steps, chord_row.total_steps, group_row.total_steps) == (4, 3, 2)


def test_group_at_the_end_of_a_chain(user: Any):
    result = chain(
        tasks.step_task.si(user.id, "a"),
        group(tasks.step_task.si(user.id, "b"), tasks.step_task.si(user.id, "c")),
    ).delay()
    group_row = UserTaskStatus.objects.get(task_class="celery.group")
    assert group_row.task_id == result.id
    assert group_row.parent.task_class == "celery.chain"


def test_republished_chain_step_adds_nothing(user: Any):
    chain(tasks.step_task.si(user.id, "a"), tasks.step_task.si(user.id, "b")).delay()
    before = [(s.pk, s.total_steps) for s in rows()]
    second = UserTaskStatus.objects.get(name="StepTask: b")
    tasks.step_task.apply_async((user.id, "b"), task_id=second.task_id)
    assert [(s.pk, s.total_steps) for s in rows()] == before


def test_publish_inside_a_transaction_creates_the_row_with_it(user: Any):
    with transaction.atomic():
        result = tasks.step_task.delay(user.id, "in transaction")
    assert UserTaskStatus.objects.get(task_id=result.id).name == "StepTask: in transaction"


def test_protocol_2_message_handled_directly(user: Any):
    create_user_task(
        sender="tests.testapp.tasks.step_task",
        body=([user.id, "Argument"], {}, {"callbacks": [], "errbacks": [], "chain": None, "chord": None}),
        headers={
            "id": "tid",
            "retries": 0,
            "eta": None,
            "expires": None,
            "group": None,
            "timelimit": [None, None],
            "task": "tests.testapp.tasks.step_task",
        },
    )
    [status] = rows()
    assert (status.task_id, status.task_class, status.user_id, status.name) == (
        "tid",
        "tests.testapp.tasks.step_task",
        user.id,
        "StepTask: Argument",
    )


@pytest.fixture
def protocol_1() -> Any:
    saved = celery_app.conf.task_protocol
    celery_app.conf.task_protocol = 1
    celery_app.amqp.__dict__.pop("create_task_message", None)  # a cached property
    yield
    celery_app.conf.task_protocol = saved
    celery_app.amqp.__dict__.pop("create_task_message", None)


def test_protocol_1_task_and_chain(user: Any, protocol_1: None):
    result = tasks.step_task.delay(user.id, "v1")
    assert UserTaskStatus.objects.get(task_id=result.id).name == "StepTask: v1"
    chain(tasks.step_task.si(user.id, "a", user_task_name="v1 chain"), tasks.step_task.si(user.id, "b")).delay()
    chain_row = UserTaskStatus.objects.get(task_class="celery.chain")
    assert (chain_row.name, chain_row.total_steps, chain_row.children.count()) == ("v1 chain", 2, 2)


def test_protocol_1_group(user: Any, protocol_1: None):
    result = group(tasks.step_task.s(user.id, "1"), tasks.step_task.s(user.id, "2")).delay()
    group_row = UserTaskStatus.objects.get(task_class="celery.group")
    assert (group_row.task_id, group_row.total_steps, group_row.children.count()) == (result.id, 2, 2)


def test_status_for_what_was_published(user: Any):
    """The status a caller hands to the browser: the task's, or the outermost container's."""
    single = tasks.step_task.delay(user.id, "alone")
    assert status_for(single) == UserTaskStatus.objects.get(task_id=single.id)
    assert status_for(single.id).name == "StepTask: alone"
    signatures = [tasks.step_task.si(user.id, str(n)) for n in range(3)]
    for canvas, kind in [
        (group(*signatures), "celery.group"),
        (chain(*signatures), "celery.chain"),
        (chord(signatures[:2], signatures[2]), "celery.chord"),
        (group(chain(*signatures[:2]), signatures[2]), "celery.group"),
    ]:
        container = status_for(canvas.delay())
        assert (container.task_class, container.parent_id, container.is_container) == (kind, None, True)
    with pytest.raises(UserTaskStatus.DoesNotExist):
        status_for(tasks.normal_task.delay("not a user task"))
