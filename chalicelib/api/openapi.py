"""`GET /openapi.json`: the OpenAPI 3.1 document, generated from the route table (api/access.py)
and the pydantic models that parse requests and describe responses (api/schemas/).

`ROUTE_SCHEMAS` names, for every route, its request body model, its query model, its success
status and response model. tests/unit/test_openapi.py fails when a route of the app is missing
here or has no response schema; the document is checked with openapi-spec-validator.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from chalicelib.api.schemas import accounts, billing, common, content, incidents, rights
from chalicelib.domain.accounts.authorizer import OPERATOR, PUBLIC, SIGNED_IN, WEBHOOK

OPENAPI_VERSION = "3.1.0"
Model = type[BaseModel]
JSON = "application/json"
HTML = "text/html"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Operation:
    """What one route takes and answers: pydantic models from api/schemas/."""

    response: Model | str | None  # the success body's model, a media type (HTML, image), or None: no body
    status: int = 200
    request: Model | None = None  # the JSON body's model; None: the route reads no body
    query: Model | None = None  # the query string's model
    summary: str = ""
    form: bool = False  # the body may also come form-encoded from a plain HTML form (answered with a page)
    redirect: str = ""  # when a browser (Accept: text/html) is sent on with 303, where to
    headers: tuple[tuple[str, str], ...] = ()  # request headers the route reads: (name, description)
    page_too: bool = False  # `?format=html` answers the same as a page


def op(
    response: Model | str,
    status: int = 200,
    *,
    request: Model | None = None,
    query: Model | None = None,
    summary: str = "",
    form: bool = False,
    redirect: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    page_too: bool = False,
) -> Operation:
    return Operation(
        response=response,
        status=status,
        request=request,
        query=query,
        summary=summary,
        form=form,
        redirect=redirect,
        headers=headers,
        page_too=page_too,
    )


IDEMPOTENCY_KEY = (
    "Idempotency-Key",
    "The caller's idempotency key, as `attempt` in the body: the same key, the same session.",
)


ROUTE_SCHEMAS: dict[tuple[str, str], Operation] = {
    ("GET", "/health"): op(common.Health, summary="The process is up and its profile loads"),
    ("HEAD", "/health"): op(None, summary="The process is up (no body)"),
    ("GET", "/openapi.json"): op(common.OpenApiDocument, summary="This document"),
    ("GET", "/policy"): op(HTML, summary="The privacy policy page (OPS-1)"),
    ("GET", "/policy.json"): op(common.PolicyDocument, summary="The privacy policy as data (OPS-1)"),
    # Sign-in (ACC-1..3, ACC-6).
    ("POST", "/auth/email/code"): op(common.StatusReply, 202, request=accounts.CodeRequest),
    ("POST", "/auth/email/verify"): op(accounts.SessionIssued, request=accounts.CodeRedeem),
    ("POST", "/auth/password/sign-up"): op(common.StatusReply, 202, request=accounts.PasswordSignUp),
    ("POST", "/auth/password/sign-in"): op(accounts.SessionIssued, request=accounts.PasswordSignIn),
    ("POST", "/auth/google/nonce"): op(accounts.GoogleNonce, 201),
    ("POST", "/auth/google"): op(accounts.SessionIssued, request=accounts.GoogleSignIn),
    ("POST", "/auth/telegram"): op(accounts.SessionIssued, request=accounts.TelegramSignIn),
    ("POST", "/auth/logout"): op(accounts.SignedOut),
    ("POST", "/auth/logout-everywhere"): op(accounts.SignedOut),
    # The account.
    ("GET", "/me"): op(accounts.Me),
    ("PATCH", "/me"): op(accounts.Me, request=accounts.ProfileChange),
    ("PUT", "/me/password"): op(common.StatusReply, request=accounts.PasswordChange),
    ("PUT", "/me/telegram"): op(accounts.Me, request=accounts.TelegramWidget),
    ("DELETE", "/me/telegram"): op(accounts.Me),
    ("GET", "/me/api-keys"): op(accounts.ApiKeys),
    ("POST", "/me/api-keys"): op(accounts.ApiKeyCreated, 201, request=accounts.NewApiKey),
    ("DELETE", "/me/api-keys/{key_id}"): op(accounts.ApiKeyRevoked),
    ("GET", "/me/api-keys/{key_id}/usage"): op(accounts.ApiKeyUsage),
    # Uploads, generation, gallery, sharing.
    ("POST", "/uploads"): op(content.UploadStarted, 201, request=content.UploadRequest),
    ("GET", "/uploads"): op(content.Uploads),
    ("GET", "/uploads/{upload_id}"): op(content.UploadView),
    ("DELETE", "/uploads/{upload_id}"): op(content.Deleted),
    ("POST", "/generations"): op(content.JobView, 202, request=content.GenerationRequest),
    ("GET", "/generations"): op(
        content.Jobs, query=content.GenerationListQuery, summary="The caller's jobs, newest first"
    ),
    ("GET", "/generations/{gen_id}"): op(content.JobView),
    ("DELETE", "/generations/{gen_id}"): op(
        content.JobView, summary="Stops a running job: its credits return, its inputs go (CNT-5, CNT-6)"
    ),
    ("GET", "/generations/{gen_id}/result"): op(
        "image/*", summary="A result the profile does not keep, marked as AI-generated (GEN-4, CNT-3)"
    ),
    ("GET", "/characters"): op(content.Characters, summary="The caller's trained characters"),
    ("DELETE", "/characters/{character_id}"): op(
        content.Deleted, summary="Deletes a character, its weights at the provider first (GEN-5)"
    ),
    ("GET", "/gallery"): op(content.Gallery, query=content.PageQuery),
    ("GET", "/gallery/{gen_id}"): op(content.ImageView),
    ("GET", "/gallery/{gen_id}/result"): op(
        "image/*", summary="The image's bytes; deleted as delivered where the profile keeps results only until then"
    ),
    ("DELETE", "/gallery/{gen_id}"): op(content.Deleted),
    ("GET", "/gallery/{gen_id}/shares"): op(content.Shares),
    ("POST", "/gallery/{gen_id}/shares"): op(content.ShareView, 201, request=content.ShareRequest),
    ("DELETE", "/shares/{share_id}"): op(content.ShareRevoked),
    ("GET", "/s/{share_id}"): op(
        "image/*", summary="A shared image, public while its link lives (406 when Accept refuses its type)"
    ),
    # Credits and payments.
    ("GET", "/billing/catalogue"): op(billing.Catalogue),
    ("POST", "/billing/checkout"): op(
        billing.CheckoutStarted, 201, request=billing.CheckoutRequest, headers=(IDEMPOTENCY_KEY,)
    ),
    ("GET", "/billing/success"): op(
        billing.CheckoutOutcome, query=billing.SuccessQuery, redirect="the web app's credits page"
    ),
    ("GET", "/billing/cancelled"): op(common.StatusReply),
    ("GET", "/me/ledger"): op(billing.LedgerPage, query=content.PageQuery),
    # Rights.
    ("POST", "/me/exports"): op(rights.ExportView, 202),
    ("GET", "/me/exports/{export_id}"): op(rights.ExportView),
    ("GET", "/me/exports/{export_id}/download"): op(
        rights.ExportDownload, 302, summary="Sent on to a fresh 5-minute link to the archive (DSR-1)"
    ),
    ("DELETE", "/me"): op(rights.ErasureScheduled, 202),
    ("GET", "/me/erasure/cancel"): op(HTML, summary="The e-mailed cancel link's page (DSR-9)"),
    ("POST", "/me/erasure/cancel"): op(rights.ErasureCancelled, request=rights.Cancel, form=True),
    ("GET", "/me/requests"): op(rights.Requests),
    ("POST", "/me/requests"): op(rights.RequestView, 202, request=rights.SignedInRequest),
    ("GET", "/me/consents"): op(rights.Consents),
    ("POST", "/me/consents"): op(rights.Consents, request=rights.ConsentChange),
    ("PUT", "/me/processing"): op(rights.ProcessingView, request=rights.Processing),
    # Policy change notices (OPS-2).
    ("GET", "/me/notices"): op(rights.Notices, summary="Notices of significant policy versions not yet acknowledged"),
    ("POST", "/me/notices/{version}/ack"): op(
        rights.NoticeAcknowledged, request=rights.NoticeAck, summary="Acknowledge a notice; answer any new consent"
    ),
    ("POST", "/contact"): op(rights.ContactReceipt, 201, request=rights.Contact),
    ("POST", "/requests"): op(rights.RequestReceipt, 202, request=rights.EmailRequest),
    ("POST", "/requests/{request_id}/verify"): op(rights.RequestView, request=rights.Verify),
    # Webhooks: the raw body is the signed payload; its shape is the sender's.
    ("POST", "/webhooks/stripe"): op(billing.WebhookReceipt, request=billing.StripeEvent),
    ("POST", "/webhooks/polar"): op(billing.WebhookReceipt, request=billing.PolarEvent),
    ("POST", "/webhooks/lemonsqueezy"): op(billing.WebhookReceipt, request=billing.LemonSqueezyEvent),
    ("POST", "/webhooks/telegram"): op(billing.WebhookReceipt, request=billing.TelegramUpdate),
    ("POST", "/webhooks/providers/{provider}/{job_token}"): op(
        content.DeliveryReceipt, request=content.ProviderDelivery
    ),
    # Operators (OPS-6).
    ("GET", "/operator/requests"): op(rights.OperatorRequests),
    ("POST", "/operator/requests/{request_id}"): op(rights.RequestView, request=rights.StatusChange),
    ("POST", "/operator/requests/{request_id}/extend"): op(rights.RequestView, request=rights.Extension),
    ("POST", "/operator/requests/{request_id}/refuse"): op(rights.RequestView, request=rights.Refusal),
    ("POST", "/operator/users/{user_id}/minor"): op(rights.ErasureCancelled, 202, request=rights.MinorReport),
    ("GET", "/operator/audit/{month}"): op(rights.AuditLog),
    ("GET", "/operator/payments/review"): op(billing.PaymentsForReview),
    ("GET", "/operator/ropa"): op(
        incidents.RecordOfProcessing, query=incidents.RecordQuery, page_too=True, summary="Art. 30 record (OPS-8)"
    ),
    ("GET", "/operator/drift"): op(
        incidents.DriftReport, summary="The deployment against the profile: TTLs, lifecycle, logs, backups (OPS-8)"
    ),
    # Incidents (OPS-5): the breach register and the notice clock.
    ("POST", "/operator/incidents"): op(incidents.IncidentView, 201, request=incidents.OpenIncident),
    ("GET", "/operator/incidents"): op(incidents.BreachRegister),
    ("GET", "/operator/incidents/{incident_id}"): op(incidents.IncidentDetail),
    ("POST", "/operator/incidents/{incident_id}/authority-notified"): op(
        incidents.IncidentView, request=incidents.AuthorityNotified
    ),
    ("POST", "/operator/incidents/{incident_id}/notify-users"): op(
        incidents.IncidentView, request=incidents.NotifyUsers
    ),
    ("POST", "/operator/policy-versions/{version}/announce"): op(
        rights.AnnouncementView, 202, request=rights.AnnounceVersion, summary="E-mail a significant version's notice"
    ),
}

SECURITY_SCHEMES = {
    "session": {"type": "http", "scheme": "bearer", "description": "A session token from a sign-in route."},
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",  # replaced by the profile's cookie name
        "description": "The HttpOnly session cookie set by a sign-in with `session: cookie`.",
    },
    "csrf": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "With the session cookie, state-changing requests echo the readable CSRF cookie.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "An API key (also accepted as `Authorization: Bearer pk_…`); the scopes a route "
        "needs are listed in its security requirement.",
    },
    "sigv4": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Operators only: a request signed with AWS Signature Version 4 (service `execute-api`) "
        "by an IAM principal the operators' group lets invoke the route; every action is audited with it.",
        "x-amazon-apigateway-authtype": "awsSigv4",
    },
}


def _security(access: str) -> list[dict[str, list[str]]] | None:
    session = [{"session": []}, {"sessionCookie": [], "csrf": []}]
    if access == PUBLIC or access == WEBHOOK:
        return []
    if access == OPERATOR:
        return [{"sigv4": []}]
    if access == SIGNED_IN:
        return session
    return [*session, {"apiKey": [access]}]


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 256}}
        for name in re.findall(r"{(\w+)}", path)
    ]


def _query_parameters(model: Model, components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field_schema}
        for name, field_schema in schema.get("properties", {}).items()
    ]


def _header_parameters(headers: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "header",
            "required": False,
            "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"},
        }
        for name, description in headers
    ]


def _response_content(response: Model | str, components: dict[str, Any], mode: str) -> dict[str, Any]:
    if isinstance(response, str):  # a media type: HTML page or image
        if response.startswith("image/"):
            return {response: {"schema": {"type": "string", "contentMediaType": response}}}
        return {response: {"schema": {"type": "string"}}}
    return {JSON: {"schema": _ref(response, components, mode)}}


def _ref(model: Model, components: dict[str, Any], mode: str) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(method: str, path: str, access: str, spec: Operation, components: dict[str, Any]) -> dict[str, Any]:
    error = {
        "description": "The one error shape",
        "content": {JSON: {"schema": _ref(common.ErrorResponse, components, "serialization")}},
    }
    success: dict[str, Any] = {"description": spec.summary or "Success"}
    if spec.response is not None:
        success["content"] = _response_content(spec.response, components, "serialization")
        if spec.page_too:
            success["content"][HTML] = {"schema": {"type": "string"}}
    if 300 <= spec.status < 400:
        success["headers"] = {"Location": {"schema": {"type": "string"}}}
    operation: dict[str, Any] = {
        "operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', path)}".rstrip("_"),
        "tags": [path.strip("/").split("/")[0] or "root"],
        "responses": {str(spec.status): success, "4XX": error, "5XX": error},
    }
    if spec.summary:
        operation["summary"] = spec.summary
    if spec.redirect:
        operation["responses"]["303"] = {
            "description": f"A browser is sent on to {spec.redirect}",
            "headers": {"Location": {"schema": {"type": "string"}}},
        }
    parameters = _path_parameters(path) + (_query_parameters(spec.query, components) if spec.query else [])
    parameters += _header_parameters(spec.headers)
    if parameters:
        operation["parameters"] = parameters
    if spec.request:
        body = _ref(spec.request, components, "validation")
        content = {JSON: {"schema": body}}
        if spec.form:
            content[FORM] = {"schema": body}
            # A plain HTML form gets pages back, its refusals included.
            for answer in (str(spec.status), "4XX"):
                documented = operation["responses"][answer]
                pages = {**documented["content"], HTML: {"schema": {"type": "string"}}}
                operation["responses"][answer] = {**documented, "content": pages}
        operation["requestBody"] = {"required": method != "DELETE", "content": content}
    security = _security(access)
    if security is not None:
        operation["security"] = security
    return operation


@functools.cache
def _document(cookie_name: str, server_url: str) -> dict[str, Any]:
    from chalicelib.api.access import ROUTE_ACCESS

    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), access in sorted(ROUTE_ACCESS.items(), key=lambda item: (item[0][1], item[0][0])):
        spec = ROUTE_SCHEMAS.get((method, path))
        if spec is None:
            continue  # tests/unit/test_openapi.py names such a route
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, access, spec, components)
    schemes = {name: dict(scheme) for name, scheme in SECURITY_SCHEMES.items()}
    schemes["sessionCookie"]["name"] = cookie_name
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Pixelkeep API",
            "version": "1",
            "description": 'Every error is `{"error": {"code", "message"}}`. Policy: `/policy`.',
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": dict(sorted(components.items())), "securitySchemes": schemes},
    }


def document(cookie_name: str, server_url: str) -> dict[str, Any]:
    """The document for the active profile's session cookie and this stage's public URL."""
    return _document(cookie_name, server_url)
