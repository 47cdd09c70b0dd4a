"""API Gateway's own answers (an unknown route, throttling, a body too large, any other 4xx/5xx)
use the API's one error shape in the deployed stack, as the local server's do."""

from __future__ import annotations

import json

from infra.gateway_responses import GATEWAY_RESPONSES


def _rendered(template: str) -> dict:
    """The body API Gateway renders, with its (quoted) message filled in."""
    return json.loads(template.replace("$context.error.messageString", '"API Gateway\'s message"'))


def test_every_gateway_response_answers_in_the_one_error_shape(template):
    (rest_api,) = template.of_type("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
    declared = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in template.of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(declared) == {g.response_type for g in GATEWAY_RESPONSES}
    for response in GATEWAY_RESPONSES:
        properties = declared[response.response_type]
        assert properties["RestApiId"] == {"Ref": rest_api}
        body = _rendered(properties["ResponseTemplates"]["application/json"])
        assert set(body) == {"error"}
        assert body["error"]["code"] == response.code
        assert body["error"]["message"]
        if response.status is not None:
            assert properties["StatusCode"] == str(response.status)
    assert declared["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(declared)
