"""e2e over HTTP against the running local clouds (PAY-2, PAY-4, PAY-5): a Lemon Squeezy subscription
and a Telegram Stars purchase in Kaleipix's, a Polar purchase in PromptPixels'. Each processor's
embedded emulator takes the payment and sends its signed deliveries to the app."""

from __future__ import annotations

import time

from infra.local_secrets import LOCAL_SECRETS
from tests.e2e.web import balance, call, eventually, google_sign_in, http_get, sign_up, stored_text, visit
from tests.support.marking import assert_marked_ai_generated


def _entries(cloud, headers) -> list[tuple[str, int, str]]:
    status, page = call("GET", f"{cloud.api}/me/ledger", headers=headers)
    assert status == 200, page
    return [(e["kind"], e["amount"], e["reason"]) for e in page["entries"]]


def test_pay4_a_lemon_squeezy_subscription_grants_each_period_once(local_cloud):
    cloud = local_cloud
    headers = sign_up(cloud, "subscriber").headers
    status, started = call("POST", f"{cloud.api}/billing/checkout", {"product": "monthly"}, headers)
    assert status == 201, started
    assert started["rail"] == "lemonsqueezy"
    assert started["url"].startswith(cloud.lemonsqueezy)
    checkout_id = started["url"].rsplit("/", 1)[-1]
    status, paid = call("POST", f"{cloud.lemonsqueezy}/_emulator/checkouts/{checkout_id}/pay", {})
    assert status == 200, paid
    eventually(lambda: balance(cloud, headers) == 1000, "the first period's credits", detail=cloud.log)
    api_key = {"Authorization": f"Bearer {LOCAL_SECRETS['lemonsqueezy-api-key']}"}
    status, found = call("GET", f"{cloud.lemonsqueezy}/v1/subscriptions", headers=api_key)
    assert status == 200, found
    (subscription,) = [s for s in found["data"] if str(s["attributes"]["order_id"]) == paid["order"]]
    assert call("POST", f"{cloud.lemonsqueezy}/_emulator/subscriptions/{subscription['id']}/renew", {})[0] == 200
    eventually(lambda: balance(cloud, headers) == 2000, "the renewal's credits")
    time.sleep(0.5)  # let any straggling duplicate land before checking "once"
    assert [kind for kind, _, _ in _entries(cloud, headers)] == ["grant", "grant"]


def test_pay4_a_stars_purchase_is_asked_first_then_granted_once(local_cloud):
    cloud = local_cloud
    headers = sign_up(cloud, "stars").headers
    body = {"product": "starter", "rail": "telegram_stars"}
    status, started = call("POST", f"{cloud.api}/billing/checkout", body, headers)
    assert status == 201, started
    assert started["url"].startswith(f"{cloud.telegram}/invoice/")
    slug = started["url"].rsplit("/", 1)[-1]
    # The buyer pays in Telegram: it asks the bot's webhook first (pre_checkout_query) and takes the
    # Stars only on a yes, then sends successful_payment.
    status, paid = call("POST", f"{cloud.telegram}/_emulator/invoices/{slug}/pay", {"user_id": 5550001})
    assert status == 200, paid
    assert paid["paid"] is True, paid
    eventually(lambda: balance(cloud, headers) == 100, "the Stars purchase's credits", detail=cloud.log)
    time.sleep(0.5)
    assert [(kind, amount) for kind, amount, _ in _entries(cloud, headers)] == [("grant", 100)]


def _link_telegram(cloud, headers, telegram_id: int) -> None:
    """What the login widget hands the web page, signed as Telegram signs it (ACC-6)."""
    import hashlib
    import hmac

    fields = {"id": str(telegram_id), "first_name": "Kai", "auth_date": str(int(time.time()))}
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hashlib.sha256(LOCAL_SECRETS["telegram-bot-token"].encode()).digest()
    widget = {**fields, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()}
    status, linked = call("PUT", f"{cloud.api}/me/telegram", {"widget": widget}, headers)
    assert status == 200, linked


def _bot_sent(cloud, since: int) -> list[dict]:
    status, found = call("GET", f"{cloud.telegram}/_emulator/sent")
    assert status == 200, found
    return found["sent"][since:]


def test_pay2_buy_credits_with_stars_in_the_bot_then_ask_the_balance(local_cloud):
    cloud, telegram_id = local_cloud, 5550777
    headers = sign_up(cloud, "bot").headers
    _link_telegram(cloud, headers, telegram_id)
    since = len(_bot_sent(cloud, 0))
    assert call("POST", f"{cloud.telegram}/_emulator/messages", {"user_id": telegram_id, "text": "/buy"})[0] == 200
    invoices = eventually(
        lambda: [m for m in _bot_sent(cloud, since) if m.get("method") == "sendInvoice"], "the bot's invoice"
    )
    assert invoices[0]["chat_id"] == str(telegram_id)
    status, paid = call(
        "POST", f"{cloud.telegram}/_emulator/invoices/{invoices[0]['slug']}/pay", {"user_id": telegram_id}
    )
    assert status == 200, paid
    assert paid["paid"] is True, paid
    eventually(lambda: balance(cloud, headers) == 100, "the Stars purchase's credits", detail=cloud.log)
    since = len(_bot_sent(cloud, 0))
    call("POST", f"{cloud.telegram}/_emulator/messages", {"user_id": telegram_id, "text": "/balance"})
    replies = eventually(lambda: [m.get("text") for m in _bot_sent(cloud, since) if m.get("text")], "the answer")
    assert replies == ["Your balance: 100 credits."]


def _bot_photo_bytes(cloud, photo: dict) -> bytes:
    """A sent photo back from the Bot API as any client fetches a file: getFile, then its file_path."""
    token = LOCAL_SECRETS["telegram-bot-token"]
    status, found = call("POST", f"{cloud.telegram}/bot{token}/getFile", {"file_id": photo["file_id"]})
    assert status == 200, found
    status, _, data = http_get(f"{cloud.telegram}/file/bot{token}/{found['result']['file_path']}")
    assert status == 200
    return data


def test_gen4_pay2_a_prompt_sent_to_the_bot_comes_back_as_a_marked_photo(local_cloud):
    """GEN-1, GEN-3, GEN-4, PAY-2: credits bought in the bot pay for /imagine; the job runs at the
    model provider emulator, its signed callback completes it, and the bot uploads the marked image
    into the chat. The content records keep no Telegram id."""
    cloud, telegram_id, prompt = local_cloud, 5550888, "a lighthouse at dusk"
    headers = sign_up(cloud, "imagine").headers
    _link_telegram(cloud, headers, telegram_id)
    since = len(_bot_sent(cloud, 0))
    call("POST", f"{cloud.telegram}/_emulator/messages", {"user_id": telegram_id, "text": "/buy"})
    (invoice,) = eventually(lambda: [m for m in _bot_sent(cloud, since) if m["method"] == "sendInvoice"], "invoice")
    paying = {"user_id": telegram_id}
    assert call("POST", f"{cloud.telegram}/_emulator/invoices/{invoice['slug']}/pay", paying)[0] == 200
    eventually(lambda: balance(cloud, headers) == 100, "the Stars purchase's credits", detail=cloud.log)

    since = len(_bot_sent(cloud, 0))
    message = {"user_id": telegram_id, "text": f"/imagine {prompt}"}
    assert call("POST", f"{cloud.telegram}/_emulator/messages", message)[0] == 200
    photos = eventually(
        lambda: [m for m in _bot_sent(cloud, since) if m["method"] == "sendPhoto"], "the photo", detail=cloud.log
    )
    (photo,) = photos
    assert photo["chat_id"] == str(telegram_id)
    assert any("credits held" in m.get("text", "") for m in _bot_sent(cloud, since))
    data = _bot_photo_bytes(cloud, photo["photo"][-1])
    assert_marked_ai_generated(
        data, "image/png", model="flux-schnell", provider="fal.ai", absent=(str(telegram_id), prompt)
    )
    status, jobs = call("GET", f"{cloud.api}/generations", headers=headers)
    assert status == 200, jobs
    (job,) = jobs["items"]
    assert (job["status"], job["prompt"], job["gallery_id"]) == ("completed", prompt, job["id"])  # CNT-3: kept
    assert balance(cloud, headers) == 100 - job["cost"]  # PAY-2
    assert str(telegram_id) not in stored_text(cloud, ("-content",))


def test_pay5_kaleipix_takes_no_payment_through_stripe_or_polar(local_cloud):
    headers = sign_up(local_cloud, "rails").headers
    for rail in ("stripe", "polar"):
        status, refused = call(
            "POST", f"{local_cloud.api}/billing/checkout", {"product": "starter", "rail": rail}, headers
        )
        assert status == 404, refused
    status, page = call("GET", f"{local_cloud.api}/policy.json")
    assert status == 200
    named = {p["name"] for p in page["processors"] if p.get("rails")}
    assert named == {"Lemon Squeezy", "Telegram"}


def test_pay4_a_polar_purchase_on_its_checkout_page_grants_once(promptpixels_cloud):
    cloud = promptpixels_cloud
    headers = google_sign_in(cloud, "polar").headers
    status, started = call("POST", f"{cloud.api}/billing/checkout", {"product": "studio"}, headers)
    assert status == 201, started
    assert started["rail"] == "polar"
    assert started["url"].startswith(cloud.polar)
    assert visit("GET", started["url"]) == 200
    # The pay button: Polar takes the payment, redirects to the success URL and sends order.paid.
    assert visit("POST", f"{started['url']}/pay") == 200
    eventually(lambda: balance(cloud, headers) == 500, "the pack's credits", detail=cloud.log)
    time.sleep(0.5)
    assert [(kind, amount) for kind, amount, _ in _entries(cloud, headers)] == [("grant", 500)]
    status, page = call("GET", f"{cloud.api}/policy.json")
    assert {p["name"] for p in page["processors"] if p.get("rails")} == {"Polar"}
