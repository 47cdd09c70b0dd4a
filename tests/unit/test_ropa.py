"""OPS-8: the record of processing (Art. 30(1)) is generated from each profile: every category with its
purposes, legal basis, retention and recipients; every processor with its country; the transfers'
safeguards; the security measures; the controller and its contact."""

from __future__ import annotations

import pytest

from chalicelib.profile.loader import available_profiles, load_profile
from chalicelib.profile.page import retention_text
from chalicelib.profile.ropa import record_of_processing, record_of_processing_html


@pytest.mark.parametrize("name", available_profiles())
def test_ops8_the_record_lists_what_the_profile_says_for_every_category(name):
    profile = load_profile(name)
    record = record_of_processing(profile)
    assert record["controller"]["name"] == profile.service.controller
    assert record["controller"]["contact"] in (profile.service.contact_email, profile.service.contact_url)
    by_category = {a["category"]: a for a in record["activities"]}
    assert set(by_category) == {str(c.id) for c in profile.categories}
    for category in profile.categories:
        activity = by_category[str(category.id)]
        assert activity["purposes"] == list(category.purposes)
        assert activity["legal_basis"] == str(category.legal_basis)
        assert activity["retention"] == retention_text(category.retention)
        assert activity["recipients"] == sorted(p.name for p in profile.processors if category.id in p.receives)
    assert {(r["name"], r["country"]) for r in record["recipients"]} == {
        (p.name, p.country) for p in profile.processors
    }
    assert record["transfers"]["safeguards"] == profile.transfers
    assert record["security_measures"] == list(profile.security)


@pytest.mark.parametrize("name", available_profiles())
def test_ops8_the_html_record_shows_every_category_and_recipient(name):
    profile = load_profile(name)
    page = record_of_processing_html(record_of_processing(profile))
    for category in profile.categories:
        assert category.title.replace("&", "&amp;") in page
    for processor in profile.processors:
        assert processor.name.replace("&", "&amp;") in page
