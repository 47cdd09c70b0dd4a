"""CORS from the stage's setting: API Gateway answers preflights for the web app's origin (with
credentials, for the cookie mode, and the X-CSRF-Token header), and the content bucket lets that
origin POST presigned uploads. The app's origin is the stack's own CloudFront distribution, unless
the stage names another (`cors_origin`), and then the stack hosts no app."""

from __future__ import annotations

import pytest

from tests.infra.conftest import APP_ORIGIN, PUBLIC_URL


@pytest.fixture(scope="module")
def elsewhere(synthesized):
    """The stage whose web app is served from another origin."""
    return synthesized("kaleipix", cors_origin=APP_ORIGIN)


def distribution_origin(template) -> dict:
    """`https://<the distribution's domain>`, as the template spells it."""
    (distribution,) = template.of_type("AWS::CloudFront::Distribution")
    return {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}


def _api_paths(template) -> dict:
    (api,) = template.of_type("AWS::Serverless::Api").values()
    return api["Properties"]["DefinitionBody"]["paths"]


def _assert_preflights_answer(template, quoted_origin) -> None:
    paths = _api_paths(template)
    for path, methods in paths.items():
        assert "options" in methods, f"{path} has no preflight answer"
        headers = methods["options"]["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == quoted_origin, path
        assert headers["method.response.header.Access-Control-Allow-Credentials"] == "'true'", path
        assert "X-CSRF-Token" in headers["method.response.header.Access-Control-Allow-Headers"], path


def _content_bucket_cors_rule(template) -> dict:
    (_, bucket) = template.named("AWS::S3::Bucket", "BucketName", "pixelkeep-test-content")
    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    (_, exports) = template.named("AWS::S3::Bucket", "BucketName", "pixelkeep-test-exports")
    assert "CorsConfiguration" not in exports["Properties"], "only uploads are posted from a browser"
    return rule


def test_every_api_route_answers_the_preflight_of_the_hosted_apps_origin(template):
    joined = distribution_origin(template)["Fn::Join"][1]
    _assert_preflights_answer(template, {"Fn::Join": ["", ["'" + joined[0], joined[1], "'"]]})


def test_functions_see_the_hosted_app_as_their_cors_origin_and_send_buyers_back_there(template):
    origin = distribution_origin(template)
    app_url = {"Fn::Join": ["", [*origin["Fn::Join"][1], "/app/"]]}
    for name, function in template.functions().items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["PIXELKEEP_CORS_ORIGIN"] == origin, name
        assert variables["PIXELKEEP_APP_URL"] == app_url, name


def test_the_content_bucket_lets_the_hosted_app_and_the_api_post_uploads(template):
    rule = _content_bucket_cors_rule(template)
    assert rule["AllowedOrigins"] == [distribution_origin(template), PUBLIC_URL]
    assert "POST" in rule["AllowedMethods"]


def test_an_app_served_elsewhere_is_the_cors_origin_and_the_stack_hosts_none(elsewhere):
    assert not elsewhere.of_type("AWS::CloudFront::Distribution", "Custom::CDKBucketDeployment")
    _assert_preflights_answer(elsewhere, f"'{APP_ORIGIN}'")
    rule = _content_bucket_cors_rule(elsewhere)
    assert set(rule["AllowedOrigins"]) == {APP_ORIGIN, PUBLIC_URL}
    for name, function in elsewhere.functions().items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["PIXELKEEP_CORS_ORIGIN"] == APP_ORIGIN, name
        assert "PIXELKEEP_APP_URL" not in variables, name
