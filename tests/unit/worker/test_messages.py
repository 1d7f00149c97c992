"""Reading protocol 1 and 2 task messages into one shape."""

from user_tasks_graphql.worker.messages import parse_message


def test_protocol_2_reads_ids_from_headers_and_reverses_the_chain():
    message = parse_message(
        "t",
        ((1, "a"), {"k": 1}, {"chain": [{"task": "third"}, {"task": "second"}], "chord": {"task": "body"}}),
        {"id": "tid", "group": "gid", "task": "t"},
    )
    assert (message.task_id, message.task_name, message.group_id) == ("tid", "t", "gid")
    assert (tuple(message.args), dict(message.kwargs)) == ((1, "a"), {"k": 1})
    assert [step["task"] for step in message.chain] == ["second", "third"]
    assert message.chord_body == {"task": "body"}


def test_protocol_2_with_empty_embed():
    message = parse_message("t", ([], {}, None), {"id": "tid"})
    assert (message.task_name, message.chain, message.chord_body, message.group_id) == ("t", [], None, None)


def test_protocol_1_flattens_linked_callbacks_into_chain_steps():
    body = {
        "id": "tid",
        "task": "t",
        "args": [1],
        "kwargs": {},
        "taskset": "gid",
        "callbacks": [{"task": "second", "options": {"link": [{"task": "third", "options": {}}]}}],
        "chord": None,
    }
    message = parse_message("t", body, {})
    assert (message.task_id, message.group_id) == ("tid", "gid")
    assert [step["task"] for step in message.chain] == ["second", "third"]
