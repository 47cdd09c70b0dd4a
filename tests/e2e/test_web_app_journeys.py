"""The reference web app (/app/) in Chromium at a phone's width, one journey per profile, against
the local cloud running that profile: sign in with the code from the outbox, upload, buy credits
on the payment emulator's pay page, generate and watch the job, gallery, share link (create, copy,
revoke), delete; the privacy center: export with progress, consent, restriction, a request with
its due date, account deletion and the e-mailed cancel link. Screenshots go to test-output/.

The pages may talk only to the API's origin and to the addresses the API itself hands out
(presigned storage links, the payment provider's pay page, the sign-in provider's page, a
delivered result's link): no CDN, no tracker, no other host.
"""

from __future__ import annotations

import io
import re
import uuid

import pytest

from tests.conftest import PROFILES
from tests.e2e.browser import browsing, chromium, chromium_path
from tests.e2e.conftest import cloud_environment, launch_cloud, stop_cloud, wait_until_ready
from tests.e2e.web import call, latest_mail, login_code

TIMEOUT_MS = 60_000
DEFAULT_PROFILE = "kaleipix"  # the session cloud's


def _png() -> dict:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 90, 30)).save(buffer, format="PNG")
    return {"name": "holiday.png", "mimeType": "image/png", "buffer": buffer.getvalue()}


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        pytest.fail("Chromium is missing: `make install` installs Debian's chromium package")
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def other_profile_clouds(tmp_path_factory):
    """A cloud for each profile but the default, all started at once: their start-ups overlap."""
    launched = {}
    for profile in PROFILES:
        if profile != DEFAULT_PROFILE:
            folder = tmp_path_factory.mktemp(f"cloud-{profile}")
            env = cloud_environment(folder / "state", PIXELKEEP_PROFILE=profile)
            launched[profile] = launch_cloud(env, folder / "local-cloud.log")
    yield launched
    for process, cloud in launched.values():
        if process.poll() is None:
            stop_cloud(process, cloud)


@pytest.fixture(params=PROFILES)
def profile_cloud(request, local_cloud, other_profile_clouds):
    """The session cloud for the default profile; a cloud of its own for each other profile."""
    if request.param == DEFAULT_PROFILE:
        yield request.param, local_cloud
        return
    process, cloud = other_profile_clouds[request.param]
    wait_until_ready(process, cloud)
    try:
        yield request.param, cloud
    finally:
        stop_cloud(process, cloud)


def _sign_in(page, cloud, methods: list[str], email: str) -> None:
    from playwright.sync_api import expect

    if "email_code" not in methods:
        assert "google" in methods, f"no journey for sign-in methods {methods}"
        page.get_by_label("Date of birth (new accounts)", exact=True).fill("1990-01-01")
        page.get_by_role("button", name="Sign in with Google").click()
        page.wait_for_url(f"{cloud.google}/**")
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Studio")).to_be_visible()
        return
    page.get_by_label("E-mail", exact=True).first.fill(email)
    page.get_by_label("Date of birth", exact=True).first.fill("1990-01-01")
    page.get_by_role("button", name="Send code").click()
    page.get_by_label("Code", exact=True).fill(login_code(cloud, email))
    page.get_by_role("button", name="Sign in").first.click()
    expect(page.get_by_role("heading", name="Studio")).to_be_visible()


def _buy_starter_pack(page, browsing_, cloud) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Credits").click()
    expect(page.get_by_text("Balance: 0 credits")).to_be_visible()
    page.get_by_role("button", name="Buy Starter pack").click()
    # The profile's first payment rail's hosted page: Stripe's, Polar's or Lemon Squeezy's emulator.
    page.wait_for_url(lambda url: not url.startswith(cloud.api))
    rails = [base for base in (cloud.stripe, cloud.polar, cloud.lemonsqueezy) if base]
    assert any(page.url.startswith(base) for base in rails), page.url
    browsing_.shoot(page, "pay-page")
    page.get_by_role("button", name="Pay (test card)").click()
    page.wait_for_url(f"{cloud.api}/app/#/credits?paid")
    expect(page.get_by_text("Balance: 100 credits")).to_be_visible()
    expect(page.get_by_role("cell", name="grant")).to_be_visible()
    browsing_.shoot(page, "credits")


def _studio(page, browsing_, stores: set[str]) -> None:
    """Upload where the profile keeps uploads; generate; the gallery, or the delivered link where
    the profile keeps no generated image."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Studio").click()
    if "uploads" in stores:
        page.get_by_label("Image (PNG, JPEG or WebP)", exact=True).set_input_files(_png())
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_role("status")).to_have_text("Upload ready.")
    page.get_by_label("Prompt", exact=True).fill("a red kite over the dunes")
    page.get_by_label("Aspect ratio", exact=True).select_option("16:9")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("[data-job-status=completed]")).to_be_visible()
    expect(page.locator("[data-image] img, [data-delivered] img")).to_have_count(1)
    if page.locator("[data-delivered]").count():  # delivered by a short-lived link, never kept (CNT-3)
        expect(page.get_by_text("No images yet.")).to_be_visible()
        browsing_.shoot(page, "studio-delivered")
        return
    image = page.locator("[data-image] img")
    expect(image).to_be_visible()
    page.get_by_role("button", name="Create share link").click()
    expect(page.locator("[data-share]")).to_have_count(1)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status")).to_have_text("Link copied.")
    browsing_.shoot(page, "studio-gallery")
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("[data-share]")).to_have_count(0)
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No images yet.")).to_be_visible()


def _privacy_center(page, browsing_, cloud, email: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Privacy center").click()
    page.get_by_role("button", name="Export my data").click()
    expect(page.locator("[data-export=ready]")).to_be_visible()
    page.get_by_label("Allow marketing", exact=True).check()
    expect(page.get_by_role("status")).to_have_text("Consent to marketing given.")
    page.get_by_label("Restrict processing of my data", exact=True).check()
    expect(page.get_by_role("status")).to_have_text("Processing restricted.")
    page.get_by_label("Kind", exact=True).select_option("rectification")
    page.get_by_role("button", name="Open request").click()
    expect(page.get_by_role("cell", name="rectification")).to_be_visible()
    browsing_.shoot(page, "privacy-center")
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_role("button", name="Yes, delete my account").click()
    scheduled = page.locator("[data-erasure]")
    expect(scheduled).to_be_visible()
    if scheduled.get_attribute("data-erasure") != "scheduled":
        return  # a profile with no grace period erases at once: there is nothing to cancel
    body = latest_mail(cloud, email, "will be erased")["body"]
    link = re.search(r"(\S+/me/erasure/cancel#token=\S+)", body).group(1)
    page.goto(link)
    expect(page.get_by_label("Cancel code", exact=True)).not_to_have_value("")
    browsing_.shoot(page, "cancel-link")
    page.get_by_role("button", name="Keep my account").click()
    expect(page.get_by_role("heading", name="Erasure cancelled")).to_be_visible()


def test_web_app_journey(profile_cloud, browser):
    from playwright.sync_api import expect

    profile, cloud = profile_cloud
    expect.set_options(timeout=TIMEOUT_MS)
    policy = call("GET", f"{cloud.api}/policy.json")[1]
    stores = {category["id"] for category in policy["categories"]}
    email = f"web-{profile}-{uuid.uuid4().hex[:8]}@example.com"
    with browsing(browser, profile) as browsing_:
        page = browsing_.context.new_page()
        page.goto(f"{cloud.api}/")
        expect(page.get_by_role("heading", name=re.compile("Sign in to"))).to_be_visible()
        assert page.url.startswith(f"{cloud.api}/app/")
        browsing_.shoot(page, "sign-in")
        _sign_in(page, cloud, policy["sign_in"], email)
        _buy_starter_pack(page, browsing_, cloud)
        _studio(page, browsing_, stores)
        _privacy_center(page, browsing_, cloud, email)

    # The API, and what it hands out: storage links, the pay page, the sign-in provider's page, a
    # delivered result's link (a profile that keeps no image); nothing else, loopback only.
    allowed = {cloud.api, cloud.moto, cloud.stripe, cloud.polar, cloud.lemonsqueezy, cloud.google, cloud.provider}
    assert browsing_.origins() <= allowed, f"requests to other hosts: {browsing_.origins() - allowed}"
    assert cloud.api in browsing_.origins()
    assert {origin.split("//")[1].split(":")[0] for origin in browsing_.origins()} == {"127.0.0.1"}
    assert all(path.stat().st_size > 0 for path in browsing_.screenshots)
