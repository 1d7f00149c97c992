"""The kombu adapter: its one check of kombu's Redis channel, and what is left of it when kombu
no longer has the method it overrides (kombu's own transport; tests/reliability/test_broker_restart.py
shows what it fixes)."""

import pytest
from kombu.transport import redis as kombu_redis

from tests.unit.adapters.checks import checked_anew
from user_tasks_graphql.adapters import kombu_redis as adapter


def test_this_kombu_has_what_the_adapter_overrides(monkeypatch: pytest.MonkeyPatch):
    with checked_anew(monkeypatch, adapter.CHECK) as warnings:
        assert adapter.CHECK.missing() == ()
    assert warnings.records == []


@pytest.mark.parametrize(
    ("breakage", "missing"),
    [
        (lambda m: m.delattr(kombu_redis.Channel, "_connparams"), "Channel._connparams"),
        (lambda m: m.setattr(kombu_redis.Channel, "_connparams", lambda self: {}), "Channel._connparams(asynchronous)"),
    ],
)
def test_without_it_the_transport_is_kombus_own_and_one_warning_says_so(
    monkeypatch: pytest.MonkeyPatch, breakage, missing: str
):
    with checked_anew(monkeypatch, adapter.CHECK) as warnings:
        with monkeypatch.context() as broken:
            breakage(broken)
            assert adapter.CHECK.missing() == (missing,)
            assert adapter.CHECK.missing() == (missing,)
        (warning,) = warnings.records
        assert missing in warning.getMessage()
        assert "kombu's own" in warning.getMessage()
    # nothing else of kombu's is replaced: a kombu that calls the method by another name runs its own code
    own = {name for name, value in vars(adapter.Channel).items() if callable(value)}
    assert own == {"__init__", "_connparams"}
    assert vars(adapter.Transport).get("Channel") is adapter.Channel
    assert issubclass(adapter.Transport, kombu_redis.Transport)
