"""CORS from the stage's setting: API Gateway answers preflights for the web app's origin (with
credentials, for the cookie mode, and the X-CSRF-Token header), and the content bucket lets that
origin POST presigned uploads."""

from __future__ import annotations

from tests.infra.conftest import APP_ORIGIN, PUBLIC_URL


def _api_paths(template) -> dict:
    (api,) = template.of_type("AWS::Serverless::Api").values()
    return api["Properties"]["DefinitionBody"]["paths"]


def test_every_api_route_answers_the_preflight_of_the_stage_origin(template):
    paths = _api_paths(template)
    for path, methods in paths.items():
        assert "options" in methods, f"{path} has no preflight answer"
        headers = methods["options"]["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == f"'{APP_ORIGIN}'", path
        assert headers["method.response.header.Access-Control-Allow-Credentials"] == "'true'", path
        assert "X-CSRF-Token" in headers["method.response.header.Access-Control-Allow-Headers"], path


def test_the_content_bucket_lets_the_app_origins_post_uploads(template):

    (_, bucket) = template.named("AWS::S3::Bucket", "BucketName", "pixelkeep-test-content")
    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    assert set(rule["AllowedOrigins"]) == {APP_ORIGIN, PUBLIC_URL}
    assert "POST" in rule["AllowedMethods"]
    (_, exports) = template.named("AWS::S3::Bucket", "BucketName", "pixelkeep-test-exports")
    assert "CorsConfiguration" not in exports["Properties"], "only uploads are posted from a browser"
