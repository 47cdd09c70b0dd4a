"""GET /policy and /policy.json for every profile: self-contained, complete, escaped (OPS-1/3/4)."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

import pytest

from tests.conftest import PROFILES

MINIMUM_AGE = {"pixera": 18, "promptpixels": 13, "pixelrender": 18, "kaleipix": 18, "pictomancer": 16}
RESPONSE_DEADLINE = {
    "pixera": "30 days",
    "promptpixels": "48 hours",
    "pixelrender": "30 days",
    "kaleipix": "30 days",
    "pictomancer": "30 days",
}
# The seeds' "Last updated" where they carry one; the profile's publication date where they do not.
VERSION_DATE = {
    "pixera": "2026-11-22",
    "promptpixels": "2025-06-01",
    "pixelrender": "2026-11-22",
    "kaleipix": "2026-11-01",
    "pictomancer": "2026-03-28",
}
LOADING_TAGS = {"script", "link", "iframe", "img", "object", "embed", "frame", "audio", "video", "source", "form"}


class PageParts(HTMLParser):
    """Collects tags with their attributes, table rows as cell texts, the style block and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._open: str | None = None
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self.rows[-1].append("")
            self._in_cell = True
        self._open = tag

    def handle_data(self, data):
        self.text.append(data)
        if self._open == "style":
            self.styles.append(data)
        elif self._in_cell:
            self.rows[-1][-1] += data

    def handle_endtag(self, tag):
        self._open = None
        if tag in ("td", "th"):
            self._in_cell = False


@pytest.fixture(params=PROFILES)
def page(request, settings_env):
    """(profile name, GET /policy response, parsed page, GET /policy.json body) for each profile."""
    from chalice.test import Client

    from app import app
    from chalicelib import wiring

    settings_env(PIXELKEEP_PROFILE=request.param)
    # chalice.test.Client applies .chalice/config.json's stage variables during each request, so
    # the profile is resolved (and cached) from this test's environment before the first request.
    assert wiring.profile().id == request.param
    with Client(app) as client:
        html_response = client.http.get("/policy")
        json_response = client.http.get("/policy.json")
    assert html_response.status_code == 200
    assert json_response.status_code == 200
    parts = PageParts()
    parts.feed(html_response.body.decode("utf-8"))
    return request.param, html_response, parts, json_response.json_body


def _text(parts: PageParts) -> str:
    return " ".join("".join(parts.text).split())


def test_ops3_page_runs_no_script_and_loads_nothing_from_elsewhere(page):
    _, _, parts, _ = page
    tags = {tag for tag, _ in parts.tags}
    assert not tags & LOADING_TAGS, f"the page must load nothing: {tags & LOADING_TAGS}"
    for tag, attrs in parts.tags:
        assert not any(name.startswith("on") for name in attrs), f"inline event handler on <{tag}>"
        for name in ("src", "href", "action", "srcset"):
            target = attrs.get(name)
            if target is not None:
                same_origin = target.startswith("/") and not target.startswith("//")
                assert same_origin or target.startswith("mailto:"), f"<{tag} {name}={target}> leaves the site"


def test_ops3_strict_content_security_policy_allows_only_the_pages_own_style(page):
    _, response, parts, _ = page
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "script-src" not in csp  # falls back to default-src 'none'
    (style,) = parts.styles
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    assert f"style-src 'sha256-{digest}'" in csp
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Set-Cookie" not in response.headers


def test_ops3_only_essential_first_party_cookies_are_listed(page):
    name, _, parts, document = page
    from chalicelib.profile.loader import load_profile

    declared = {c.name for c in load_profile(name).cookies}
    listed = {c["name"] for c in document["cookies"]}
    assert listed == declared
    assert all(c["essential"] and not c["third_party"] for c in document["cookies"])
    cookie_rows = {row[0] for row in parts.rows if row and row[0] in declared}
    assert cookie_rows == declared


def test_ops4_every_processor_is_listed_with_its_country(page):
    name, _, parts, document = page
    from chalicelib.profile.loader import load_profile

    profile = load_profile(name)
    rows = {row[0]: row for row in parts.rows if row}
    for processor in profile.processors:
        assert processor.name in rows, f"{processor.name} missing from the page"
        assert processor.country in rows[processor.name], f"{processor.name}'s country missing"
    assert {(p["name"], p["country"]) for p in document["processors"]} == {
        (p.name, p.country) for p in profile.processors
    }


def test_gen1_model_providers_that_receive_prompts_are_named(page):
    name, _, parts, document = page
    from chalicelib.profile.loader import load_profile

    providers = [p.name for p in load_profile(name).model_providers]
    assert providers
    assert document["model_providers"] == providers
    assert f"sent only to the model provider that runs the job: {', '.join(providers)}" in _text(parts)


def test_gen4_the_page_says_how_generated_media_is_marked_and_where(page):
    name, _, parts, document = page
    marking = document["ai_marking"]
    assert marking["digital_source_type"].endswith("/digitalsourcetype/trainedAlgorithmicMedia")
    text = _text(parts)
    assert "machine-readable C2PA manifest" in text
    assert "holds no personal data" in text
    if name == "promptpixels":  # keeps no generated image: marked on delivery, no copy
        assert not marking["marked_when_stored"]
        assert "mark it and hand it over without keeping a copy" in text
    else:
        assert marking["marked_when_stored"]
        assert "before it is stored" in text


def test_acc7_minimum_age_is_stated(page):
    name, _, parts, document = page
    assert document["minimum_age"] == MINIMUM_AGE[name]
    assert f"not intended for anyone under {MINIMUM_AGE[name]}" in _text(parts)


def test_dsr8_rights_and_response_deadline_are_stated(page):
    name, _, parts, document = page
    assert document["rights"]["response_text"] == RESPONSE_DEADLINE[name]
    assert f"We respond within {RESPONSE_DEADLINE[name]}" in _text(parts)
    assert "Object to processing" in _text(parts)


COMPLAINT_AUTHORITY = {  # DSR-11: where each policy's jurisdiction sends a complaint (Art. 77)
    "pictomancer": "https://www.aepd.es",
    "pixera": "https://www.edpb.europa.eu/about-edpb/about-edpb/members_en",
    "promptpixels": "https://www.edpb.europa.eu/about-edpb/about-edpb/members_en",
    "pixelrender": "https://www.edpb.europa.eu/about-edpb/about-edpb/members_en",
    "kaleipix": "https://www.edpb.europa.eu/about-edpb/about-edpb/members_en",
}


def test_dsr11_the_right_to_complain_to_a_supervisory_authority_is_stated(page):
    name, _, parts, document = page
    complaint = document["rights"]["complaint"]
    assert complaint["url"] == COMPLAINT_AUTHORITY[name]
    text = _text(parts)
    assert f"You have the right to lodge a complaint with {complaint['authority']} ({complaint['url']})" in text
    assert "seek a judicial remedy" in text


def test_ops2_policy_version_date_and_change_channels_are_stated(page):
    name, _, parts, document = page
    assert document["policy"]["effective"] == VERSION_DATE[name]
    text = _text(parts)
    assert f"effective {VERSION_DATE[name]}" in text
    assert "We announce significant changes by" in text


def test_ops5_breach_notice_hours_are_stated(page):
    _, _, parts, document = page
    assert document["breach_notice_hours"] == 72
    assert "notify the authorities within 72 hours" in _text(parts)


def test_dsr13_backup_period_is_stated_from_the_profile(page):
    """DSR-13 / OPS-1: the page states how long backups keep data, from the profile that sets the
    tables' point-in-time recovery period, and that an erasure is replayed after a restore."""
    from chalicelib import wiring

    _, _, parts, document = page
    days = wiring.profile().backups.days
    assert document["backups"]["days"] == days
    assert f"point-in-time backups for {days} days" in _text(parts)
    assert "restored backup is erased again" in _text(parts)


def test_every_category_has_a_row_with_its_retention_wording(page):
    _, _, parts, document = page
    rows = [row for row in parts.rows if len(row) == 3]
    for category in document["categories"]:
        assert any(
            row[0] == category["title"]
            and row[1].startswith(category["retention"]["text"])
            and row[2] == category["deletion"]["text"]  # OPS-9: the bound its mechanisms guarantee
            for row in rows
        )


def test_values_are_html_escaped():
    from dataclasses import replace

    from chalicelib.profile.loader import load_profile
    from chalicelib.profile.page import policy_document, render_html

    profile = load_profile("kaleipix")
    hostile = replace(profile, service=replace(profile.service, controller='<script>alert("x")</script>'))
    html = render_html(policy_document(hostile))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("kind", "days", "text"),
    [
        ("fixed", 365, "12 months"),
        ("fixed", 730, "2 years"),
        ("fixed", 90, "90 days"),
        ("until_user_deletes", None, "Until you delete it"),
        ("account_lifetime_plus", 30, "Account lifetime + 30 days"),
        ("until_processed", 1, "Until processing completes (leftovers expire after 24 hours)"),
        ("not_stored", None, "Not stored"),
        ("legal", 2557, "7 years (required by law)"),
        ("until_consent_withdrawn", None, "Until you withdraw consent"),
    ],
)
def test_retention_wording(kind, days, text):
    from chalicelib.profile.page import retention_text
    from chalicelib.profile.schema import Retention

    assert retention_text(Retention(kind=kind, days=days)) == text


@pytest.mark.parametrize("name", PROFILES)
def test_ops2_the_page_lists_every_version_with_its_date_and_what_changed(name, settings_env, monkeypatch, tmp_path):
    """After a later version is in force, /policy and /policy.json show both versions, newest first,
    each dated, with the changes computed from the snapshot."""
    from chalice.test import Client

    from app import app
    from chalicelib.profile.loader import load_profile
    from tests.support.policy_versions import V2, put_in_force, with_new_consent_purpose

    settings_env(PIXELKEEP_PROFILE=name)
    later = with_new_consent_purpose(tmp_path, name)
    put_in_force(monkeypatch, later)
    with Client(app) as client:
        document = client.http.get("/policy.json").json_body
        html = client.http.get("/policy").body.decode("utf-8")
    history = document["policy"]["history"]
    assert [(v["version"], v["effective"], v["significant"]) for v in history] == [
        (V2, V2, True),
        (load_profile(name).policy.version, VERSION_DATE[name], False),
    ]
    assert {c["kind"] for c in history[0]["changes"]} == {"new_category", "new_consent_purpose"}
    assert history[1]["changes"] == []
    parts = PageParts()
    parts.feed(html)
    rows = {row[0]: row[1:] for row in parts.rows if len(row) == 3}
    assert rows[V2] == [V2, "New data collected: Newsletter (significant)Newsletter: asks your consent (significant)"]
    assert rows[history[1]["version"]] == [VERSION_DATE[name], "First published version."]
