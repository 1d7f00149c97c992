"""What the hub reads back after a channel-layer outage: changed rows, and deletions from tombstones."""

import time

import pytest
from django.contrib.auth import get_user_model

from user_tasks_graphql.core.events import GONE_SEQ
from user_tasks_graphql.live.catch_up import changed_since
from user_tasks_graphql.live.groups import ALL_GROUP, status_group, user_group

from ..factories import make_waiting

pytestmark = pytest.mark.django_db


def test_statuses_deleted_during_the_outage_reach_their_owners_list_groups():
    alice, bob = (get_user_model().objects.create_user(name) for name in ("alice", "bob"))
    since = time.time() - 1
    kept, gone, bobs = make_waiting(alice, "kept"), make_waiting(alice, "gone"), make_waiting(bob, "bob's")
    gone_uuid, bobs_uuid = str(gone.uuid), str(bobs.uuid)
    gone.delete()
    bobs.delete()

    events = changed_since(since, [user_group(alice.pk)])
    assert {(e["uuid"], e["deleted"]) for e in events} == {(str(kept.uuid), False), (gone_uuid, True)}
    deletion = next(e for e in events if e["deleted"])
    assert deletion["user_id"] == alice.pk
    assert deletion["seq"] == GONE_SEQ, "newer than any state"

    everything = changed_since(since, [ALL_GROUP])
    assert {e["uuid"] for e in everything if e["deleted"]} == {gone_uuid, bobs_uuid}
    assert changed_since(time.time() + 60, [user_group(alice.pk)]) == [], "nothing after the outage began"


def test_a_status_group_of_a_deleted_status_gets_a_deletion():
    alice = get_user_model().objects.create_user("alice")
    gone = make_waiting(alice, "gone")
    gone_uuid = gone.uuid
    gone.delete()
    events = changed_since(time.time() + 60, [status_group(gone_uuid)])
    assert [(e["uuid"], e["deleted"]) for e in events] == [(str(gone_uuid), True)]
