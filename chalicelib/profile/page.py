"""The published policy page, rendered from the same profile that drives retention (OPS-1).

Pure functions: profile -> dict (the JSON form) and dict -> HTML. The HTML loads nothing from
anywhere: no scripts, no third-party assets, one inline style block allowed by its hash in the
Content-Security-Policy (OPS-3). Every value is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Any

from chalicelib.profile.bounds import DeletionBound, deletion_bound, hours
from chalicelib.profile.schema import Category, Profile, Retention, RetentionKind, plain

LEGAL_BASIS_TEXT = {
    "contract": "Performance of a contract",
    "legitimate_interest": "Legitimate interests",
    "consent": "Your consent",
    "legal_obligation": "Legal obligation",
}
RIGHT_TEXT = {
    "access": "Access a copy of your personal data",
    "portability": "Receive your data in a machine-readable format",
    "rectification": "Correct inaccurate or incomplete data",
    "erasure": "Have your data erased (“right to be forgotten”)",
    "restriction": "Restrict how we process your data",
    "objection": "Object to processing",
    "withdraw_consent": "Withdraw consent at any time",
}
CHANGE_NOTICE_TEXT = {
    "email": "by email",
    "in_app": "by a notice in the app",
    "publication": "by publishing the new version on this page",
}
SIGN_IN_TEXT = {
    "email_code": "a one-time code sent to your email",
    "password": "a password (stored only as a slow hash)",
    "google": "Google sign-in",
    "telegram": "Telegram (optional linking)",
    "api_key": "API keys (stored only as hashes)",
}
STORAGE_TEXT = {"cookie": "Cookie", "local_storage": "Local storage"}

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}"
    "table{border-collapse:collapse;width:100%;margin:1rem 0}"
    "th,td{border:1px solid #ccc;padding:.4rem .6rem;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4}small{color:#555}"
)


def content_security_policy() -> str:
    """Nothing may load; only the page's own style block (by hash) may apply."""
    digest = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def html_headers() -> dict[str, str]:
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "public, max-age=300",
    }


# -- wording -------------------------------------------------------------------------------------


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def duration_text(days: int) -> str:
    """365 -> "12 months", 730 -> "2 years", 2557 -> "7 years", 1 -> "24 hours", 90 -> "90 days"."""
    if days == 1:
        return "24 hours"
    if days == 365:
        return "12 months"
    years = round(days / 365.25)
    if years >= 1 and abs(days - years * 365.25) <= 1:
        return _plural(years, "year")
    return _plural(days, "day")


def hours_text(hours: int) -> str:
    """48 -> "48 hours"; 720 -> "30 days"."""
    if hours > 72 and hours % 24 == 0:
        return _plural(hours // 24, "day")
    return _plural(hours, "hour")


def retention_text(retention: Retention, *, on_completion: bool = True) -> str:
    """The nominal period. `on_completion`: the code deletes this data when processing completes."""
    days = retention.days
    match retention.kind:
        case RetentionKind.FIXED:
            return duration_text(days)
        case RetentionKind.UNTIL_USER_DELETES:
            return "Until you delete it"
        case RetentionKind.UNTIL_PROCESSED if on_completion:
            return f"Until processing completes (leftovers expire after {duration_text(days)})"
        case RetentionKind.UNTIL_PROCESSED:
            return duration_text(days)
        case RetentionKind.ACCOUNT_LIFETIME_PLUS:
            return (
                f"Account lifetime + {_plural(days, 'day')}" if days else "Account lifetime (erased when you delete it)"
            )
        case RetentionKind.LEGAL:
            return f"{duration_text(days)} (required by law)"
        case RetentionKind.UNTIL_CONSENT_WITHDRAWN:
            return "Until you withdraw consent"
        case RetentionKind.NOT_STORED:
            return "Not stored"
    raise ValueError(f"no wording for retention kind {retention.kind}")


def deletion_text(retention: Retention, bound: DeletionBound) -> str:
    """When the data is gone at the latest, counting the timers' lag (OPS-9)."""
    match retention.kind:
        case RetentionKind.NOT_STORED:
            return "Never stored"
        case RetentionKind.UNTIL_USER_DELETES:
            return "When you delete it, or your account"
        case RetentionKind.UNTIL_CONSENT_WITHDRAWN:
            return "When you withdraw consent, or delete your account"
        case RetentionKind.ACCOUNT_LIFETIME_PLUS if retention.days:
            return f"{_plural(retention.days, 'day')} after you delete your account, + up to 48 hours"
        case RetentionKind.ACCOUNT_LIFETIME_PLUS:
            return "When you delete your account"
    latest = hours(bound.latest)
    within = (
        hours_text(latest)
        if latest <= 72
        else f"{duration_text(retention.days)} + up to {hours_text(hours(bound.lag))}"
    )
    if bound.on_completion:
        return f"When processing completes; anything left over within {within}"
    return f"Within {within}" if latest <= 72 else within


# -- the document --------------------------------------------------------------------------------


def policy_document(profile: Profile) -> dict[str, Any]:
    """Everything the page states, as data: the JSON form of the page and the input of the HTML."""
    service = profile.service
    return {
        "profile": profile.id,
        "service": plain(service, exclude=frozenset({"seed", "shape"})),
        "policy": {
            "version": profile.policy.version,
            "effective": profile.policy.effective.isoformat(),
            "change_notice": list(profile.policy.change_notice),
            # OPS-2: every dated version, newest first, with what changed from the one before
            "history": [
                {
                    "version": release.version,
                    "effective": release.effective.isoformat(),
                    "significant": release.significant,
                    "changes": [
                        {"kind": c.kind, "subject": c.subject, "text": c.text, "significant": c.significant}
                        for c in release.changes
                    ],
                }
                for release in reversed(profile.history)
            ],
        },
        "minimum_age": profile.minimum_age,
        "sign_in": list(profile.sign_in.methods),
        "categories": [
            {
                "id": c.id.value,
                "title": c.title,
                "fields": list(c.fields),
                "signals": list(c.signals),
                "purposes": list(c.purposes),
                "legal_basis": c.legal_basis.value,
                "retention": {
                    "kind": c.retention.kind.value,
                    "days": c.retention.days,
                    "time_limited": c.retention.time_limited,
                    "text": retention_text(c.retention, on_completion=bound.on_completion),
                },
                "deletion": {
                    "on_completion": bound.on_completion,
                    "latest_hours": hours(bound.latest) if bound.latest is not None else None,
                    "promised_hours": c.retention.deleted_within_hours,
                    "text": deletion_text(c.retention, bound),
                },
                "note": c.note,
            }
            for c, bound in ((c, deletion_bound(profile, c.id)) for c in profile.categories)
        ],
        "processors": [plain(p) for p in profile.processors],
        "model_providers": [p.name for p in profile.model_providers],
        "transfers": profile.transfers,
        "rights": {
            **plain(profile.rights, exclude=frozenset({"source"})),
            "response_text": hours_text(profile.rights.response_hours),
        },
        "cookies": [plain(c) for c in profile.cookies],
        "backups": {"days": profile.backups.days, "text": duration_text(profile.backups.days)},
        "breach_notice_hours": profile.breach_notice_hours,
        "security": list(profile.security),
        "sells_data": profile.sells_data,
        "ai_marking": ai_marking(profile),
    }


def ai_marking(profile: Profile) -> dict[str, Any]:
    """GEN-4: how every generated image and video is marked, and where the marking happens."""
    kept = profile.stores(Category.GENERATED_IMAGES)
    where = (
        "before it is stored, so every copy we keep or share carries it."
        if kept
        else "on its way to you: we fetch the result from the model provider when you open it, mark it and "
        "hand it over without keeping a copy."
    )
    return {
        "standard": "C2PA",
        "digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        "states": ["AI-generated", "model", "model provider"],
        "marked_when_stored": kept,
        "text": "Every image and video made for you carries a signed, machine-readable C2PA manifest "
        "(Content Credentials) saying it was generated by AI, with the model and the model provider that "
        "made it. The marking holds no personal data: not your account, your e-mail or your prompt. "
        f"It is added {where}",
    }


# -- HTML ----------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{_e(item)}</li>" for item in items) + "</ul>"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """`rows` hold already-escaped cell HTML."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _contact(service: dict[str, Any]) -> str:
    parts = []
    if service.get("contact_email"):
        email = _e(service["contact_email"])
        parts.append(f'<a href="mailto:{email}">{email}</a>')
    if (service.get("contact_url") or "").startswith("/"):
        parts.append(f'<a href="{_e(service["contact_url"])}">our contact form</a>')
    return " or ".join(parts) or "the contact details on our website"


def _sections(doc: dict[str, Any]) -> list[tuple[str, str]]:
    service, rights = doc["service"], doc["rights"]
    contact = _contact(service)
    categories = doc["categories"]
    sections = [
        (
            "Who we are",
            f"<p>{_e(service['controller'])} operates {_e(service['name'])}"
            + (f" ({_e(service['website'])})" if service.get("website") else "")
            + f". Applicable law: {_e(service['jurisdiction'])}. Contact: {contact}.</p>"
            + (f"<p><small>{_e(service['note'])}</small></p>" if service.get("note") else ""),
        ),
        (
            "Data we collect and why",
            _table(
                ["Data", "What it includes", "Why", "Legal basis"],
                [
                    [
                        _e(c["title"]),
                        _e(", ".join(c["fields"])),
                        _e("; ".join(c["purposes"])),
                        _e(LEGAL_BASIS_TEXT[c["legal_basis"]]),
                    ]
                    for c in categories
                ],
            )
            + f"<p>You sign in with {_e(' or '.join(SIGN_IN_TEXT[m] for m in doc['sign_in']))}.</p>",
        ),
        (
            "How long we keep it",
            _table(
                ["Data", "Retention", "Deleted at the latest"],
                [
                    [
                        _e(c["title"]),
                        _e(c["retention"]["text"]) + (f"<br><small>{_e(c['note'])}</small>" if c["note"] else ""),
                        _e(c["deletion"]["text"]),
                    ]
                    for c in categories
                ],
            )
            + "<p><small>Deletion timers run late: the database removes expired records up to 48 hours after "
            "they expire, and storage removes expired files at the first midnight (UTC) after they expire. "
            "The last column counts both.</small></p>",
        ),
        (
            "Who processes it",
            _table(
                ["Processor", "Purpose", "Country"],
                [[_e(p["name"]), _e(p["purpose"]), _e(p["country"])] for p in doc["processors"]],
            )
            + (f"<p>International transfers: {_e(doc['transfers'])}</p>" if doc["transfers"] else "")
            + (
                "<p>Your prompts and the images you submit for generation are sent only to the model provider "
                f"that runs the job: {_e(', '.join(doc['model_providers']))}.</p>"
                if doc["model_providers"]
                else ""
            )
            + "<p>We do not sell your personal data.</p>",
        ),
        (
            "Your rights",
            _list([RIGHT_TEXT[r] for r in rights["available"]])
            + f"<p>How to exercise them: {_e('; '.join(rights['channels']))}."
            + (" You can make a request without signing in." if rights["requests_without_sign_in"] else "")
            + (" We verify your identity before acting on a request." if rights["verify_identity"] else "")
            + f" We respond within {_e(doc['rights']['response_text'])}; erasure completes within "
            + f"{_e(_plural(rights['erasure_days'], 'day'))}.</p>"
            + (f"<p><small>{_e(rights['note'])}</small></p>" if rights.get("note") else "")
            # DSR-11: the right to complain, also named in every refusal and extension notice
            + f"<p>You have the right to lodge a complaint with {_e(rights['complaint']['authority'])} "
            + f"({_e(rights['complaint']['url'])}) and to seek a judicial remedy.</p>",  # text: the page links nowhere
        ),
        (
            "Minimum age",
            f"<p>The service is not intended for anyone under {_e(doc['minimum_age'])}. An account found to "
            "belong to a minor is deleted promptly.</p>",
        ),
        (
            "Cookies and local storage",
            "<p>Only essential cookies and local storage; no third-party, tracking or advertising cookies.</p>"
            + _table(
                ["Name", "Kind", "Purpose"],
                [[_e(c["name"]), _e(STORAGE_TEXT[c["storage"]]), _e(c["purpose"])] for c in doc["cookies"]],
            ),
        ),
    ]
    sections.append(
        (
            "Backups",
            f"<p>Our databases keep point-in-time backups for {_e(doc['backups']['text'])}. When your data is "
            "erased, we keep only a keyed hash of your account id and the time, for that period, so that a "
            "restored backup is erased again before it is used.</p>",
        )
    )
    sections.append(("AI-generated content", f"<p>{_e(doc['ai_marking']['text'])}</p>"))
    security = _list(doc["security"]) if doc["security"] else ""
    if doc["breach_notice_hours"]:
        security += (
            f"<p>If a breach affects your personal data, we notify the authorities within "
            f"{_e(hours_text(doc['breach_notice_hours']))} and inform the people affected.</p>"
        )
    sections.append(("Security and breaches", security or "<p>See our security measures on request.</p>"))
    policy = doc["policy"]
    notice = " and ".join(CHANGE_NOTICE_TEXT[c] for c in policy["change_notice"])
    sections.append(
        (
            "Changes to this policy",
            f"<p>Version {_e(policy['version'])}, effective {_e(policy['effective'])}. "
            f"We announce significant changes {_e(notice)}.</p>{_history(policy['history'])}",
        )
    )
    return sections


def _history(history: list[dict[str, Any]]) -> str:
    """The dated versions, newest first, each with its changes and whether people were told (OPS-2)."""
    rows = []
    for release in history:
        changes = release["changes"]
        if not changes:
            what = "First published version." if release is history[-1] else "No change in substance."
        else:
            what = "".join(
                f"<li>{_e(c['text'])}{' (significant)' if c['significant'] else ''}</li>" for c in changes
            )
            what = f"<ul>{what}</ul>"
        rows.append(f"<tr><td>{_e(release['version'])}</td><td>{_e(release['effective'])}</td><td>{what}</td></tr>")
    return (
        "<table><caption>Version history</caption><thead><tr><th>Version</th><th>Effective</th>"
        f"<th>What changed</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def render_html(doc: dict[str, Any]) -> str:
    """The page for a `policy_document`, self-contained."""
    name = _e(doc["service"]["name"])
    body = "".join(f"<section><h2>{_e(title)}</h2>{html}</section>" for title, html in _sections(doc))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{name} privacy policy</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{name} privacy policy</h1>"
        f"<p><small>Version {_e(doc['policy']['version'])} · effective {_e(doc['policy']['effective'])}</small></p>"
        f"{body}</main></body></html>"
    )
