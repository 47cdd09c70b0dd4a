"""OPS-8: the record of processing activities (GDPR Art. 30(1)), generated from the profile that also
drives retention, the workflows and the policy page, so it cannot say something the system does not."""

from __future__ import annotations

import html
from typing import Any

from chalicelib.profile.page import retention_text
from chalicelib.profile.schema import Profile


def record_of_processing(profile: Profile) -> dict[str, Any]:
    """Art. 30(1): controller and contact, purposes, categories of data and of recipients, transfers
    and their safeguards, time limits for erasure, and the security measures."""
    recipients = {}
    for processor in profile.processors:
        recipients.setdefault(processor.name, processor)
    return {
        "controller": {
            "name": profile.service.controller,
            "service": profile.service.name,
            "contact": profile.service.contact_email or profile.service.contact_url,
            "jurisdiction": profile.service.jurisdiction,
        },
        "policy_version": profile.policy.version,
        "data_subjects": f"users of {profile.service.name} aged {profile.minimum_age} or over",
        "activities": [
            {
                "category": str(category.id),
                "title": category.title,
                "data": list(category.fields),
                "purposes": list(category.purposes),
                "legal_basis": str(category.legal_basis),
                "retention": retention_text(category.retention),
                "recipients": sorted(p.name for p in profile.processors if category.id in p.receives),
            }
            for category in profile.categories
        ],
        "recipients": [
            {
                "name": p.name,
                "kind": p.kind,
                "purpose": p.purpose,
                "country": p.country,
                "receives": [str(c) for c in p.receives],
            }
            for p in recipients.values()
        ],
        "transfers": {
            "countries": sorted({p.country for p in profile.processors}),
            "safeguards": profile.transfers,
        },
        "security_measures": list(profile.security),
        "breach_notice_hours": profile.breach_notice_hours,
    }


def record_of_processing_html(record: dict[str, Any]) -> str:
    def e(value: Any) -> str:
        return html.escape(", ".join(value) if isinstance(value, list) else str(value or "—"))

    rows = "".join(
        f"<tr><td>{e(a['title'])}</td><td>{e(a['data'])}</td><td>{e(a['purposes'])}</td>"
        f"<td>{e(a['legal_basis'])}</td><td>{e(a['retention'])}</td><td>{e(a['recipients'])}</td></tr>"
        for a in record["activities"]
    )
    recipients = "".join(
        f"<li>{e(r['name'])} ({e(r['kind'])}, {e(r['country'])}): {e(r['purpose'])}</li>" for r in record["recipients"]
    )
    security = "".join(f"<li>{e(m)}</li>" for m in record["security_measures"])
    controller = record["controller"]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Record of processing</title></head><body>"
        f"<h1>Record of processing activities: {e(controller['service'])}</h1>"
        f"<p>Controller: {e(controller['name'])} ({e(controller['jurisdiction'])}); "
        f"contact {e(controller['contact'])}. "
        f"Policy version {e(record['policy_version'])}. Data subjects: {e(record['data_subjects'])}.</p>"
        "<table><tr><th>Category</th><th>Data</th><th>Purposes</th><th>Legal basis</th><th>Retention</th>"
        f"<th>Recipients</th></tr>{rows}</table>"
        f"<h2>Recipients</h2><ul>{recipients}</ul>"
        f"<h2>Transfers</h2><p>Countries: {e(record['transfers']['countries'])}. "
        f"Safeguards: {e(record['transfers']['safeguards'])}</p>"
        f"<h2>Security measures</h2><ul>{security or '<li>—</li>'}</ul></body></html>"
    )
