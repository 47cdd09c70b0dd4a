"""The five profiles load, a broken profile names its file and field, and each value quotes its seed."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from chalicelib.profile.compile import compiled_sources, load_profile_file, load_with_history
from chalicelib.profile.loader import PROFILES_DIR, ProfileError, available_profiles, load_profile
from chalicelib.profile.schema import Category, RetentionKind, plain
from tests.conftest import PROFILES

SEEDS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
KALEIPIX_TEXT = (PROFILES_DIR / "kaleipix.toml").read_text(encoding="utf-8")


def test_every_compiled_profile_is_its_toml_compiled_now():
    """The modules a cold Lambda imports are exactly what validating today's TOML gives: editing a
    profile without `make profiles` fails here (and the compiled profile equals the validated one)."""
    stale = [path.name for path, text in compiled_sources().items() if path.read_text(encoding="utf-8") != text]
    assert not stale, f"run `make profiles`: {stale} differ from their TOML"
    for name in PROFILES:
        assert load_profile(name) == load_with_history(PROFILES_DIR / f"{name}.toml")


def test_all_five_profiles_ship_and_load():
    assert sorted(available_profiles()) == sorted(PROFILES)
    for name in PROFILES:
        profile = load_profile(name)
        assert profile.id == name
        assert profile.has(Category.ACCOUNT)


@pytest.mark.parametrize(
    ("name", "age"), [("pixera", 18), ("promptpixels", 13), ("pixelrender", 18), ("kaleipix", 18), ("pictomancer", 16)]
)
def test_acc7_minimum_age_per_profile(name, age):
    assert load_profile(name).minimum_age == age


def test_cnt3_promptpixels_delivers_generated_images_without_storing_them():
    profile = load_profile("promptpixels")
    assert profile.has(Category.GENERATED_IMAGES)
    assert not profile.stores(Category.GENERATED_IMAGES)
    assert load_profile("kaleipix").stores(Category.GENERATED_IMAGES)


@pytest.mark.parametrize(
    ("name", "hours", "days"),
    [("promptpixels", 48, 30), ("kaleipix", 720, 30), ("pixelrender", 720, 30)],
)
def test_dsr8_rights_deadlines_per_profile(name, hours, days):
    rights = load_profile(name).rights
    assert (rights.response_hours, rights.erasure_days) == (hours, days)


def test_dsr7_requests_without_sign_in_where_the_policy_offers_them():
    assert load_profile("pixera").rights.requests_without_sign_in
    assert load_profile("pixelrender").rights.requests_without_sign_in


def test_specific_retention_promises_are_encoded():
    """CNT-2 / SEC-4 / SEC-5 / DSR-6 / DSR-9 values as the policies state them."""
    pictomancer = load_profile("pictomancer")
    assert plain(pictomancer.category(Category.UPLOADS).retention) == {
        "kind": "until_processed",
        "days": 1,
        "deleted_within_hours": 24,  # "Deleted within 24h of processing" (OPS-9: kept by explicit deletion)
    }
    assert pictomancer.category(Category.USAGE_LOGS).retention.days == 730
    assert pictomancer.category(Category.MARKETING).retention.kind == RetentionKind.UNTIL_CONSENT_WITHDRAWN
    assert load_profile("promptpixels").category(Category.TECHNICAL_LOGS).retention.days == 90
    assert load_profile("kaleipix").account_grace_days == 30
    assert load_profile("pixelrender").sign_in.api_requires_verified_email


def test_every_profile_lists_processors_with_a_country_and_essential_cookies_only():
    for name in PROFILES:
        profile = load_profile(name)
        assert profile.processors
        assert all(p.country for p in profile.processors)
        assert profile.model_providers, f"{name} lists no model provider (GEN-1, OPS-4)"
        assert profile.cookies
        assert all(c.essential and not c.third_party for c in profile.cookies)
        assert profile.cookie_name("session")


# -- broken profiles -------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "kaleipix") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _load_error(path: Path) -> str:
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    message = str(caught.value)
    assert str(path) in message, "the error must name the file"
    return message


def test_the_unmodified_copy_loads(tmp_path):
    assert load_profile_file(_write(tmp_path, KALEIPIX_TEXT)).id == "kaleipix"


def test_missing_field_names_file_and_field(tmp_path):
    text = KALEIPIX_TEXT.replace("minimum_age = 18", "")
    assert "minimum_age" in _load_error(_write(tmp_path, text))


def test_wrong_type_names_file_and_field(tmp_path):
    text = KALEIPIX_TEXT.replace("response_hours = 720", 'response_hours = "a month"')
    assert "rights.response_hours" in _load_error(_write(tmp_path, text))


def test_unknown_retention_kind_names_the_category(tmp_path):
    text = KALEIPIX_TEXT.replace('retention = { kind = "fixed", days = 365 }', 'retention = { kind = "forever" }')
    message = _load_error(_write(tmp_path, text))
    assert "categories[generation_logs].retention.kind" in message


def test_days_on_an_untimed_kind_is_refused(tmp_path):
    untimed = 'retention = { kind = "until_user_deletes" }'
    text = KALEIPIX_TEXT.replace(untimed, 'retention = { kind = "until_user_deletes", days = 5 }', 1)
    message = _load_error(_write(tmp_path, text))
    assert "categories[uploads].retention" in message
    assert "takes no 'days'" in message


def test_a_timed_kind_without_days_is_refused(tmp_path):
    text = KALEIPIX_TEXT.replace('retention = { kind = "fixed", days = 90 }', 'retention = { kind = "fixed" }', 1)
    assert "needs 'days'" in _load_error(_write(tmp_path, text))


SIGNALS_LINE = 'signals = ["ip_hash", "fingerprint_hash", "user_agent", "accept_language"]'


@pytest.mark.parametrize(
    ("signals", "field", "why"),
    [
        ('["user_agent", "fingerprint_hash"]', "categories[abuse_signals].signals", "must include 'ip_hash'"),
        ('["ip_hash", "device_id"]', "categories[abuse_signals].signals", "should be 'ip_hash'"),
    ],
)
def test_ops1_abuse_signals_must_be_known_and_found_by_the_ip_hash(tmp_path, signals, field, why):
    text = KALEIPIX_TEXT.replace(SIGNALS_LINE, f"signals = {signals}")
    message = _load_error(_write(tmp_path, text))
    assert field in message
    assert why in message


def test_ops1_every_stored_signal_is_stated_in_the_fields(tmp_path):
    text = KALEIPIX_TEXT.replace('"Accept-Language header"]', '"language"]', 1)
    message = _load_error(_write(tmp_path, text))
    assert "categories[abuse_signals].fields" in message
    assert "Accept-Language header" in message


def test_ops1_only_the_abuse_signals_category_lists_signals(tmp_path):
    uploads = 'id = "uploads"\n'
    text = KALEIPIX_TEXT.replace(uploads, uploads + 'signals = ["ip_hash"]\n', 1)
    message = _load_error(_write(tmp_path, text))
    assert "categories[uploads].signals" in message
    assert "only the 'abuse_signals' category" in message


def test_ops9_an_untimed_kind_cannot_promise_deletion_within_hours(tmp_path):
    untimed = 'retention = { kind = "until_user_deletes" }'
    promised = 'retention = { kind = "until_user_deletes", deleted_within_hours = 24 }'
    message = _load_error(_write(tmp_path, KALEIPIX_TEXT.replace(untimed, promised, 1)))
    assert "categories[uploads].retention.deleted_within_hours" in message
    assert "runs no timer" in message


def test_ops9_a_negative_deletion_promise_is_refused(tmp_path):
    timed = 'retention = { kind = "fixed", days = 90 }'
    negative = 'retention = { kind = "fixed", days = 90, deleted_within_hours = -1 }'
    message = _load_error(_write(tmp_path, KALEIPIX_TEXT.replace(timed, negative, 1)))
    assert "retention.deleted_within_hours" in message
    assert "at least 0" in message


def test_duplicate_category_is_refused(tmp_path):
    block = KALEIPIX_TEXT[KALEIPIX_TEXT.index('[[categories]]\nid = "prompts"') :]
    block = block[: block.index("\n\n") + 1]
    message = _load_error(_write(tmp_path, KALEIPIX_TEXT + "\n" + block))
    assert "field 'categories'" in message
    assert "listed twice: prompts" in message


def test_id_must_match_the_file_name(tmp_path):
    message = _load_error(_write(tmp_path, KALEIPIX_TEXT, name="somebody-else"))
    assert "field 'id'" in message
    assert "somebody-else" in message


def test_bad_toml_names_the_file(tmp_path):
    assert "not valid TOML" in _load_error(_write(tmp_path, KALEIPIX_TEXT + "\n[rights\n"))


def test_a_non_essential_cookie_is_refused(tmp_path):
    """OPS-3: a profile cannot declare a tracking cookie."""
    text = KALEIPIX_TEXT.replace(
        'purpose = "Interface language"\nessential = true', 'purpose = "Ads"\nessential = false'
    )
    assert "cookies[language].essential" in _load_error(_write(tmp_path, text))


def test_a_processor_receiving_an_unlisted_category_is_refused(tmp_path):
    text = KALEIPIX_TEXT.replace('receives = ["payments"]', 'receives = ["payments", "marketing"]')
    assert "Lemon Squeezy" in _load_error(_write(tmp_path, text))


def test_ops1_the_bots_processor_must_list_the_prompts_and_images_the_bot_carries(tmp_path):
    """The Telegram rail brings the /imagine bot: the page must say Telegram carries prompts and images."""
    text = KALEIPIX_TEXT.replace(
        'receives = ["account", "prompts", "generated_images", "payments"]', 'receives = ["account", "payments"]'
    )
    assert text != KALEIPIX_TEXT
    assert "runs the Telegram bot" in _load_error(_write(tmp_path, text))


def test_pay5_a_payment_processor_must_name_its_rails_and_each_rail_is_named_once(tmp_path):
    without_rails = KALEIPIX_TEXT.replace('rails = ["lemonsqueezy"]\n', "")
    assert "must name its rails" in _load_error(_write(tmp_path, without_rails))
    twice = KALEIPIX_TEXT.replace('rails = ["lemonsqueezy"]', 'rails = ["telegram_stars"]')
    assert "named by two processors" in _load_error(_write(tmp_path, twice))
    unknown = KALEIPIX_TEXT.replace('rails = ["lemonsqueezy"]', 'rails = ["paypal"]')
    assert "rails" in _load_error(_write(tmp_path, unknown))


@pytest.mark.parametrize(
    ("name", "rails", "processor_names"),
    [
        ("promptpixels", ["polar"], ["Polar"]),
        ("kaleipix", ["lemonsqueezy", "telegram_stars"], ["Lemon Squeezy", "Telegram"]),
        ("pixera", ["stripe"], ["Stripe"]),
        ("pixelrender", ["stripe"], ["Stripe"]),
        ("pictomancer", ["stripe"], ["Stripe"]),
    ],
)
def test_pay5_each_profile_takes_payments_through_the_processors_its_policy_names(name, rails, processor_names):
    profile = load_profile(name)
    assert profile.payment_rails == rails
    assert [p.name for p in profile.processors if p.rails] == processor_names
    if name in ("promptpixels", "kaleipix"):  # the swap notes are gone: Stripe is named nowhere
        assert "stripe" not in json.dumps(plain(profile)).lower()


def test_a_job_kind_whose_data_the_profile_does_not_keep_is_refused(tmp_path):
    """A render keeps frames while it runs: a profile without render inputs cannot offer it (CNT-6)."""
    text = KALEIPIX_TEXT.replace("minimum_age = 18", 'minimum_age = 18\njob_kinds = ["text-to-image", "video-render"]')
    assert "render_inputs" in _load_error(_write(tmp_path, text))


def test_the_kinds_each_service_offers():
    assert load_profile("promptpixels").job_kinds == [
        "text-to-image",
        "upscale",
        "edit",
        "character-training",
        "character-image",
    ]
    assert load_profile("pixelrender").job_kinds == ["text-to-image", "video-render"]
    assert load_profile("kaleipix").job_kinds == ["text-to-image"]


def test_an_unknown_profile_name_is_a_profile_error():
    with pytest.raises(ProfileError, match="no such profile"):
        load_profile("nobody")


# -- traceability to the seeds --------------------------------------------------------------


def _normalized(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _quotes(source: str) -> list[str]:
    """A `source` is one or more quotes from the policy, separated by ' | '."""
    return [part for part in (_normalized(q) for q in source.split(" | ")) if part]


@pytest.mark.parametrize("name", PROFILES)
def test_every_source_quotes_its_seed(name):
    """OPS-1: every category's and the rights' `source` words appear in the profile's policy text."""
    seed_name = tomllib.loads((PROFILES_DIR / f"{name}.toml").read_text(encoding="utf-8"))["service"]["seed"]
    seed = SEEDS_DIR / seed_name
    if not seed.exists():
        pytest.skip("the policy texts are not next to this checkout")
    policy_text = _normalized(seed.read_text(encoding="utf-8"))
    profile = load_profile(name)
    sources = {f"categories[{c.id}]": c.source for c in profile.categories} | {"rights": profile.rights.source}
    missing = {
        where: quote for where, source in sources.items() for quote in _quotes(source) if quote not in policy_text
    }
    assert not missing, f"{name}: source text not found in {seed_name}: {missing}"
