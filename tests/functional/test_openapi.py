"""`GET /openapi.json`: valid OpenAPI 3.1, generated from the app's own route list, every route with
its request and response schemas, the request schema being the model the view parses with."""

from __future__ import annotations

import inspect
import json
import re

import pytest

from chalicelib.api.access import ROUTE_ACCESS
from chalicelib.api.openapi import HTML, ROUTE_SCHEMAS, document

BODY_METHODS = {"POST", "PUT", "PATCH"}
# Routes that change state without reading a body: the caller (or the URL) is the whole request.
BODYLESS = {
    ("POST", "/auth/google/nonce"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/logout-everywhere"),
    ("POST", "/me/exports"),
}


def app_routes() -> set[tuple[str, str]]:
    from app import app

    return {(method, path) for path, methods in app.routes.items() for method in methods}


def innermost(view):
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    return view


@pytest.fixture(scope="module")
def spec() -> dict:
    return document("session_cookie", "https://api.example.test")


def test_the_document_is_valid_openapi_3_1(spec):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    errors = [str(error) for error in OpenAPIV31SpecValidator(spec).iter_errors()]
    assert not errors, errors[:5]


def test_every_route_of_the_app_is_in_the_document_with_a_response_schema(spec):
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    missing = sorted(app_routes() - documented)
    assert not missing, f"routes with no request/response schemas (chalicelib/api/openapi.py): {missing}"
    assert not sorted(set(ROUTE_SCHEMAS) - app_routes()), "schemas for routes the app does not have"
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            codes = operation["responses"]
            # One success: a 2XX, or the 3XX of a route that always sends the caller on (export download).
            success = [code for code in codes if code.startswith("2")] or [c for c in codes if c.startswith("3")]
            assert len(success) == 1, (method, path)
            if method == "head":  # HEAD answers headers only
                assert "content" not in codes[success[0]], path
                continue
            content = codes[success[0]]["content"]
            assert all(media["schema"] for media in content.values()), (method, path)
            assert operation["responses"]["4XX"]["content"]["application/json"]["schema"] == {  # the one shape
                "$ref": "#/components/schemas/ErrorResponse"
            }


def test_every_route_that_takes_a_body_documents_the_model_its_view_parses(spec):
    from app import app

    for (method, path), operation in ((key, ROUTE_SCHEMAS[key]) for key in sorted(app_routes())):
        documented = spec["paths"][path][method.lower()]
        if method in BODY_METHODS and (method, path) not in BODYLESS:
            assert "requestBody" in documented, f"{method} {path} takes a body the document does not describe"
        if operation.request and not path.startswith("/webhooks/"):  # webhooks verify raw bytes
            source = inspect.getsource(innermost(app.routes[path][method].view_function))
            model = operation.request.__name__
            assert re.search(rf"\b{model}\b", source), f"{method} {path} documents {model} but parses another"


def test_security_follows_the_route_table(spec):
    for (method, path), access in ROUTE_ACCESS.items():
        security = spec["paths"][path][method.lower()].get("security")
        if access in ("public", "webhook"):
            assert security == [], (method, path)
        elif access == "signed_in":
            assert security == [{"session": []}, {"sessionCookie": [], "csrf": []}], (method, path)
        elif access == "operator":
            assert security == [{"sigv4": []}], (method, path)
        else:  # an API-key scope (ACC-9)
            assert {"apiKey": [access]} in security, (method, path)
    assert spec["components"]["securitySchemes"]["sessionCookie"]["name"] == "session_cookie"
    schemes = spec["components"]["securitySchemes"]
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"  # OPS-6: IAM, no static key
    assert not [name for name, scheme in schemes.items() if scheme.get("name") == "X-Operator-Key"]


def test_checkout_documents_the_rail_and_the_idempotency_key_header(spec):
    checkout = spec["paths"]["/billing/checkout"]["post"]
    headers = {p["name"] for p in checkout["parameters"] if p["in"] == "header"}
    assert headers == {"Idempotency-Key"}
    rail = spec["components"]["schemas"]["CheckoutRequest"]["properties"]["rail"]
    assert {"stripe", "polar", "lemonsqueezy", "telegram_stars"} <= set(json.dumps(rail).replace('"', " ").split())


def test_the_export_download_is_a_redirect_and_the_share_link_an_image(spec):
    download = spec["paths"]["/me/exports/{export_id}/download"]["get"]["responses"]
    assert "Location" in download["302"]["headers"]
    assert not [code for code in download if code.startswith("2")]
    assert "image/*" in spec["paths"]["/s/{share_id}"]["get"]["responses"]["200"]["content"]
    assert "image/*" in spec["paths"]["/gallery/{gen_id}/result"]["get"]["responses"]["200"]["content"]
    ropa = spec["paths"]["/operator/ropa"]["get"]["responses"]["200"]["content"]
    assert set(ropa) == {"application/json", HTML}


def test_the_policy_page_and_cancel_page_are_documented_as_html(spec):
    assert HTML in spec["paths"]["/policy"]["get"]["responses"]["200"]["content"]
    assert HTML in spec["paths"]["/me/erasure/cancel"]["get"]["responses"]["200"]["content"]
    form_post = spec["paths"]["/me/erasure/cancel"]["post"]
    assert "application/x-www-form-urlencoded" in form_post["requestBody"]["content"]
    assert HTML in form_post["responses"]["200"]["content"], "the form gets a page back"
    assert HTML in form_post["responses"]["4XX"]["content"], "a refused code is a page too (found by schemathesis)"
    assert HTML not in spec["paths"]["/me"]["get"]["responses"]["4XX"]["content"]


def test_get_openapi_json_serves_the_document_for_the_active_profile(client):
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    served = json.loads(response.body)
    from chalicelib import wiring
    from chalicelib.domain.accounts.service import declared_cookie

    assert served["components"]["securitySchemes"]["sessionCookie"]["name"] == declared_cookie(
        wiring.profile(), "session"
    )
    assert set(served["paths"]) == {path for _, path in app_routes()}
