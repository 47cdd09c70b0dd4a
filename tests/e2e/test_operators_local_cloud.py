"""Operators in the local cloud: metrics and alarms (OPS-7)."""

from __future__ import annotations

import json

from tests.e2e.web import eventually, http_get, sign_up


def _metrics_page(cloud) -> dict:
    status, _, body = http_get(f"{cloud.tools}/metrics.json")
    assert status == 200, body
    return json.loads(body)


def test_ops7_a_sign_up_is_counted_in_cloudwatch_and_the_tools_page_shows_alarm_states(local_cloud):
    before = sum(m["sum"] for m in _metrics_page(local_cloud)["metrics"] if m["name"] == "SignUps")
    sign_up(local_cloud, prefix="metrics")

    def counted():
        page = _metrics_page(local_cloud)
        return page if sum(m["sum"] for m in page["metrics"] if m["name"] == "SignUps") == before + 1 else None

    page = eventually(counted, "the sign-up counted in the local CloudWatch")
    assert {"service": "pixelkeep"} in [m["dimensions"] for m in page["metrics"] if m["name"] == "SignUps"]
    states = {a["name"]: a["state"] for a in page["alarms"]}
    assert any(name.endswith("-erasure-failed") for name in states)
    assert set(states.values()) <= {"OK", "ALARM", "INSUFFICIENT_DATA"}
    status, headers, html = http_get(f"{local_cloud.tools}/metrics")
    assert status == 200
    assert b"SignUps" in html
