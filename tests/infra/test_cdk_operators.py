"""OPS-6 in the template: every operator route takes API Gateway's IAM authorization (SigV4) and no
other route does; the operators' group may invoke the operator routes and nothing else of the API."""

from __future__ import annotations

import json

from chalice.utils import to_cfn_resource_name

from chalicelib.api import operator_actions
from chalicelib.api.access import ROUTE_ACCESS
from chalicelib.domain.accounts.authorizer import OPERATOR
from infra.description import operators_group
from tests.infra.conftest import settings_for


def _swagger(template) -> dict:
    (api,) = template.of_type("AWS::Serverless::Api").values()
    return api["Properties"]["DefinitionBody"]


def _iam_schemes(swagger: dict) -> set[str]:
    return {
        name
        for name, scheme in swagger.get("securityDefinitions", {}).items()
        if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4"
    }


def test_ops6_operator_routes_and_only_they_take_iam_authorization(template):
    swagger = _swagger(template)
    schemes = _iam_schemes(swagger)
    assert schemes, "no SigV4 security scheme in the API"
    operator_routes = {(m, p) for (m, p), needs in ROUTE_ACCESS.items() if needs == OPERATOR}
    assert operator_routes
    signed = {
        (method.upper(), path)
        for path, methods in swagger["paths"].items()
        for method, operation in methods.items()
        if any(set(requirement) & schemes for requirement in operation.get("security", []))
    }
    assert signed == operator_routes


def test_ops6_the_operators_group_may_invoke_only_the_operator_routes(template):
    (group_id, group) = template.named("AWS::IAM::Group", "GroupName", operators_group(settings_for(template.profile)))
    statements = [
        s
        for policy in template.of_type("AWS::IAM::Policy").values()
        if {"Ref": group_id} in policy["Properties"].get("Groups", [])
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert [s["Action"] for s in statements] == ["execute-api:Invoke", "lambda:InvokeFunction"]
    (resource,) = [statements[0]["Resource"]]
    assert json.dumps(resource).endswith('/api/*/operator/*"]]}')
    assert "RestAPI" in json.dumps(resource)
    invocable = {ref["Fn::GetAtt"][0] for ref in statements[1]["Resource"]}
    assert invocable == {to_cfn_resource_name(name) for name in _operator_actions()}


def _operator_actions() -> set[str]:
    """The functions chalicelib/api/operator_actions.py registers."""
    import app

    found = {f.name for f in app.app.pure_lambda_functions if f.func.__module__ == operator_actions.__name__}
    assert found
    return found
