"""Newest state per status: the highest seq wins, ties and order as each user of it needs, and a
bound that forgets the least recently updated status."""

from __future__ import annotations

import pytest

from user_tasks_graphql.live.newest import UNKNOWN, Newest


def test_the_highest_seq_wins_whatever_the_order_of_arrival():
    newest: Newest[str] = Newest()
    assert newest.offer("a", 2, "a2")
    assert not newest.offer("a", 1, "a1"), "an older state is not kept"
    assert newest.offer("a", 3, "a3")
    assert newest.seq("a") == 3
    assert newest.seq("b") == UNKNOWN
    assert newest.take() == ["a3"]
    assert len(newest) == 0
    assert newest.seq("a") == UNKNOWN, "nothing is kept after a take"


@pytest.mark.parametrize("order", ["first", "updated"])
def test_a_tie_keeps_the_first(order):
    newest: Newest[str] = Newest(order=order)
    newest.offer("a", 1, "first")
    assert not newest.offer("a", 1, "again")
    assert newest.take() == ["first"]


def test_by_arrival_a_tie_keeps_the_later():
    newest: Newest[str] = Newest(order="arrival")
    newest.offer("a", 1, "first")
    assert newest.offer("a", 1, "again")
    assert newest.take() == ["again"]


def test_first_order_is_a_queue_a_busy_status_keeps_its_place():
    newest: Newest[str] = Newest()
    for key, seq in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3)]:
        newest.offer(key, seq, f"{key}{seq}")
    assert len(newest) == 3
    assert newest.pop_first() == ("a", "a3")
    newest.offer("a", 4, "a4")  # taken, so it waits behind the others now
    assert newest.take() == ["b1", "c1", "a4"]


def test_updated_order_moves_a_status_last_only_when_it_changes():
    newest: Newest[None] = Newest(order="updated")
    for key in "abc":
        newest.offer(key, 1, None)
    newest.offer("a", 2, None)
    newest.offer("b", 0, None)  # older: not an update
    assert [newest.pop_first()[0] for _ in range(3)] == ["b", "c", "a"]


def test_arrival_order_moves_a_status_last_on_every_offer():
    newest: Newest[str] = Newest(order="arrival")
    for key, seq in [("a", 2), ("b", 1), ("a", 1), ("c", 1)]:
        newest.offer(key, seq, f"{key}{seq}")
    assert newest.take() == ["b1", "a2", "c1"], "a's newest state, where its last offer arrived"


def test_the_bound_forgets_the_least_recently_updated():
    newest: Newest[None] = Newest(2, order="updated")
    newest.offer("a", 1, None)
    newest.offer("b", 1, None)
    newest.offer("a", 2, None)
    newest.offer("b", 0, None)  # older: b is still the least recently updated
    assert newest.offer("c", 1, None)
    assert len(newest) == 2
    assert newest.seq("b") == UNKNOWN
    assert (newest.seq("a"), newest.seq("c")) == (2, 1)
    assert newest.offer("b", 0, None), "a forgotten status takes whatever comes next"


def test_pop_first_of_nothing_and_clear():
    newest: Newest[None] = Newest()
    with pytest.raises(KeyError):
        newest.pop_first()
    newest.offer("a", 1, None)
    newest.clear()
    assert not newest
    assert newest.seq("a") == UNKNOWN
