"""The one mapping from domain errors to JSON HTTP errors, and the body parser."""

import subprocess
import sys

import pytest
from chalice import Blueprint, Chalice
from chalice.test import Client
from pydantic import BaseModel, Field

from chalicelib import errors
from chalicelib.api.http import STATUS, json_body, json_response, parse_body, route


class Payload(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    count: int = Field(ge=0)


def build_app():
    bp = Blueprint(__name__)

    @route(bp, "/raise/{kind}", methods=["GET"])
    def raise_kind(kind):
        exc = {cls.__name__: cls for cls in STATUS}[kind]
        if exc is errors.RateLimited:
            raise exc("Slow down.", retry_after=7)
        raise exc("Readable message.")

    @route(bp, "/boom", methods=["GET"])
    def boom():
        raise RuntimeError("secret internals: alice@example.com")

    @route(bp, "/echo", methods=["POST"])
    def echo():
        return json_response(parse_body(Payload, json_body(bp)).model_dump(), status=201)

    app = Chalice(app_name="edge-test")
    app.register_blueprint(bp)
    return app


@pytest.fixture
def client():
    with Client(build_app()) as test_client:
        yield test_client


@pytest.mark.parametrize(("error", "status"), list(STATUS.items()), ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_domain_error_maps_to_its_status_with_a_json_body(client, error, status):
    response = client.http.get(f"/raise/{error.__name__}")
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json_body["error"]["code"] == error.code


def test_rate_limited_carries_retry_after(client):
    response = client.http.get("/raise/RateLimited")
    assert response.headers["Retry-After"] == "7"


def test_unexpected_errors_never_echo_internals(client):
    response = client.http.get("/boom")
    assert response.status_code == 500
    assert "alice@example.com" not in response.body.decode()
    assert response.json_body["error"]["code"] == "internal_error"


def test_invalid_fields_are_listed_without_echoing_input(client):
    response = client.http.post(
        "/echo", body='{"name": "far-too-long-a-name", "count": -1}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    fields = {f["field"] for f in response.json_body["error"]["details"]["fields"]}
    assert fields == {"name", "count"}
    assert "far-too-long-a-name" not in response.body.decode()


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"text"'])
def test_malformed_bodies_are_400(client, body):
    response = client.http.post("/echo", body=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_input"


def test_valid_body_passes(client):
    response = client.http.post(
        "/echo", body='{"name": "ok", "count": 2}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    assert response.json_body == {"name": "ok", "count": 2}


def test_importing_the_app_loads_no_sdk_or_validation_library():
    """Cold start stays low because heavy libraries load on first use, not at import."""
    heavy = ["boto3", "botocore.session", "pynamodb", "pydantic", "stripe", "PIL", "jwt", "argon2", "aws_xray_sdk"]
    heavy += ["tomllib", "chalicelib.profile.compile", "chalicelib.profile.compiled"]
    code = f"import sys, app; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
