"""OPS-9: the page states only the deletion bounds the mechanisms guarantee, and a profile promising
a tighter one refuses to load (naming file, field and computed bound) unless explicit deletion on
completion keeps it."""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib.profile import bounds
from chalicelib.profile.bounds import EXPLICIT_DELETION, deletion_bound
from chalicelib.profile.loader import PROFILES_DIR, ProfileError, available_profiles, load_profile, load_profile_file
from chalicelib.profile.page import policy_document, render_html
from chalicelib.profile.schema import Category


def test_ops9_bounds_add_the_ttl_lag_and_lifecycle_rounding():
    pixelrender = load_profile("pixelrender")
    logs = deletion_bound(pixelrender, Category.USAGE_LOGS)  # a record with a 90-day TTL
    assert logs.latest == timedelta(days=90, hours=48)
    assert not logs.on_completion
    inputs = deletion_bound(pixelrender, Category.RENDER_INPUTS)  # 1-day TTL and 1-day lifecycle rule
    assert inputs.latest == timedelta(hours=72)
    assert not inputs.on_completion
    assert inputs.promise_bound == timedelta(hours=72)
    uploads = deletion_bound(load_profile("pictomancer"), Category.UPLOADS)
    assert uploads.on_completion
    assert uploads.promise_bound == timedelta(0)
    assert uploads.latest == timedelta(hours=72)  # the backstop, for leftovers
    assert deletion_bound(load_profile("kaleipix"), Category.UPLOADS).latest is None  # ends by the user's act


def _promising(tmp_path: Path, name: str, category: str, promised_hours: int) -> Path:
    """A copy of profile `name` whose `category` promises deletion within `promised_hours`."""
    text = (PROFILES_DIR / f"{name}.toml").read_text(encoding="utf-8")
    head, marker, rest = text.partition(f'id = "{category}"\n')
    retention_end = rest.index(" }\n", rest.index("retention = {"))
    rest = rest[:retention_end] + f", deleted_within_hours = {promised_hours}" + rest[retention_end:]
    path = tmp_path / f"{name}.toml"
    path.write_text(head + marker + rest, encoding="utf-8")
    return path


def test_ops9_a_profile_promising_deletion_faster_than_its_timers_refuses_to_load(tmp_path):
    """Render inputs on a 1-day timer with no explicit deletion cannot be promised gone in 24 hours."""
    path = _promising(tmp_path, "pixelrender", "render_inputs", 24)
    with pytest.raises(ProfileError) as refused:
        load_profile_file(path)
    message = str(refused.value)
    assert str(path) in message
    assert "field 'categories[render_inputs].retention.deleted_within_hours'" in message
    assert "promises 24 hours" in message
    assert "within 72 hours" in message


def test_ops9_a_promise_the_timers_do_keep_loads(tmp_path):
    path = _promising(tmp_path, "pixelrender", "render_inputs", 72)
    assert load_profile_file(path).category(Category.RENDER_INPUTS).retention.deleted_within_hours == 72


@pytest.mark.parametrize("category", [Category.UPLOADS, Category.GENERATED_IMAGES, Category.PROMPTS])
def test_ops9_pictomancer_loads_only_because_explicit_deletion_keeps_its_24_hours(category, monkeypatch):
    """Mutation check: take away one explicit deletion path and the 24-hour promise refuses to load."""
    load_profile_file(PROFILES_DIR / "pictomancer.toml")
    monkeypatch.setattr(bounds, "EXPLICIT_DELETION", {k: v for k, v in EXPLICIT_DELETION.items() if k != category})
    with pytest.raises(ProfileError, match=rf"categories\[{category.value}\]\.retention\.deleted_within_hours"):
        load_profile_file(PROFILES_DIR / "pictomancer.toml")


@pytest.mark.parametrize("category", sorted(EXPLICIT_DELETION))
def test_ops9_every_explicit_deletion_names_code_that_exists(category):
    module, _, name = EXPLICIT_DELETION[category].rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))


def test_ops9_object_categories_are_the_ones_stored_as_objects():
    from chalicelib.store.layout import OBJECT_PREFIXES

    assert bounds.OBJECT_CATEGORIES == frozenset(OBJECT_PREFIXES)


@pytest.mark.parametrize("name", available_profiles())
def test_ops9_the_page_states_the_computed_bound_for_every_category(name):
    profile = load_profile(name)
    document = policy_document(profile)
    html = render_html(document)
    for entry in document["categories"]:
        bound = deletion_bound(profile, Category(entry["id"]))
        assert entry["deletion"]["latest_hours"] == (bounds.hours(bound.latest) if bound.latest else None)
        assert entry["deletion"]["text"] in html
        if bound.latest is not None and bound.latest <= timedelta(hours=72):
            assert f"{bounds.hours(bound.latest)} hours" in entry["deletion"]["text"]
    assert "at most 24 hours" not in html
