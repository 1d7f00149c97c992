"""The Strawberry adapter: its one check of the validation extension it replaces a part of, and
what is left without it (Strawberry's own cached validation: suggestions, but validation all the same)."""

from __future__ import annotations

from typing import Any

import pytest
from strawberry.extensions import ValidationCache

from tests.unit.adapters.checks import checked_anew
from tests.unit.api.test_suggestions import TYPOS, over_http, schema_with
from user_tasks_graphql.adapters import strawberry as adapter


def test_this_strawberry_has_what_the_adapter_replaces(monkeypatch: pytest.MonkeyPatch):
    with checked_anew(monkeypatch, adapter.CHECK) as warnings:
        assert adapter.CHECK.missing() == ()
        assert adapter.validation_extension(True, 10) is adapter.ValidationWithoutSuggestions
    assert warnings.records == []


@pytest.mark.parametrize(
    ("breakage", "missing"),
    [
        (
            lambda m: m.setattr(ValidationCache, "__init__", lambda self, maxsize=None: None),
            "ValidationCache.cached_validate_document",
        ),
        (
            lambda m: m.setitem(adapter.RULES, "strawberry.schema.validation_rules.one_of", "Renamed"),
            "strawberry.schema.validation_rules.one_of.Renamed",
        ),
        (
            lambda m: m.setitem(adapter.RULES, "strawberry.schema.moved_rules", "MaybeNullValidationRule"),
            "strawberry.schema.moved_rules.MaybeNullValidationRule",
        ),
    ],
)
def test_without_it_validation_is_strawberrys_own_and_one_warning_says_so(
    monkeypatch: pytest.MonkeyPatch, settings: Any, breakage: Any, missing: str
):
    with checked_anew(monkeypatch, adapter.CHECK) as warnings:
        with monkeypatch.context() as broken:
            breakage(broken)
            assert missing in adapter.CHECK.missing()
            factory = adapter.validation_extension(True, 10)
        assert factory is not adapter.ValidationWithoutSuggestions
        assert type(factory()) is ValidationCache
        (warning,) = warnings.records
        assert missing in warning.getMessage()
        assert "Strawberry's ValidationCache" in warning.getMessage()
        # the schema still validates: a typo is still refused, as BAD_USER_INPUT
        status, body = over_http(schema_with(settings, introspection=False), *TYPOS["field"])
        assert status == 200
        assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
