"""Pixelkeep: wiring only. Routes, event consumers and workflow tasks live in chalicelib/."""

from chalice import Chalice

from chalicelib import grants, observability
from chalicelib.api import (
    auth,
    billing,
    cors,
    gallery,
    generations,
    health,
    http,
    me,
    operator_actions,
    operators,
    policy,
    rights,
    uploads,
    webhooks,
)
from chalicelib.events import streams
from chalicelib.events import uploads as upload_events
from chalicelib.workflows import erasure, export, notices

app = Chalice(app_name="pixelkeep")
# Every route runs in Chalice's one API function: it reaches every table and its own secrets, reads
# and writes content objects (presigned uploads, gallery), signs export downloads, and starts the
# rights workflows.
grants.declare(
    "api_handler",
    grants.Uses(
        write_tables=(*grants.CATEGORY_TABLES, "idempotency"),
        write_buckets="content",
        read_buckets="exports",  # DSR-1 downloads are signed here; incidents count archive holders
        start_workflows=("export", "erasure", "notices"),
        secrets=(
            "ip-hash-key",
            "login-code-key",
            "google-client-id",
            "telegram-bot-token",
            "stripe-api-key",
            "stripe-webhook-secret",
            "fal-api-key",
            "fal-user-id",
            "replicate-api-token",
            "replicate-webhook-secret",
            "runpod-api-key",
            "polar-access-token",
            "polar-webhook-secret",
            "lemonsqueezy-api-key",
            "lemonsqueezy-webhook-secret",
            "telegram-webhook-secret",
            "c2pa-signing-chain",
            "c2pa-signing-key",
        ),
        send_email=True,
    ),
)
app.api.cors = cors.from_environment()  # before the blueprints: each route takes it when registered
app.api.binary_types.extend(["image/png", "image/jpeg", "image/webp", "image/*", "video/mp4", "application/zip"])
app.register_middleware(http.one_error_shape, "http")  # outermost: sees every response
observability.register(app)

for module in (health, policy, auth, me, uploads, generations, gallery, billing, webhooks, rights, operators):
    app.register_blueprint(module.bp)
for module in (streams, upload_events, export, erasure, notices, operator_actions):
    app.register_blueprint(module.bp)
