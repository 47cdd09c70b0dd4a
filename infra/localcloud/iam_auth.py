"""API Gateway's IAM authorization in the local cloud (OPS-6): operator routes take SigV4.

In AWS, API Gateway checks the SigV4 signature of a request to a route with IAM authorization,
asks IAM whether the caller may `execute-api:Invoke` it, and hands the function the caller's
identity (`requestContext.identity.userArn`). Chalice's local server admits such requests unchecked;
here the signature is recomputed with botocore's signer (as the AWS CLI and SDKs sign) from the
secret of the access key in the local IAM (moto), the timestamp must be within five minutes, and
the user must belong to the operators' group the stack also creates. Anything else is refused with
the answer API Gateway gives (infra/gateway_responses.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalice.app import IAMAuthorizer
from chalice.local import ForbiddenError, LocalGateway, LocalGatewayAuthorizer

from infra.gateway_responses import ACCESS_DENIED, INVALID_SIGNATURE, UNKNOWN_ROUTE

SERVICE = "execute-api"
SIGNING_WINDOW = timedelta(minutes=5)
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Caller:
    arn: str
    user_name: str
    access_key: str
    account: str


class Refused(Exception):
    def __init__(self, response: Any, message: str) -> None:
        super().__init__(message)
        self.response = response


class GatewayRefusal(ForbiddenError):
    """API Gateway's answer to a refused signature, rendered as its Gateway Response."""

    def __init__(self, refused: Refused) -> None:
        response = refused.response
        super().__init__({"x-amzn-ErrorType": response.response_type}, response.body(str(refused)))
        self.CODE = response.status or self.CODE


def local_iam_secret(access_key_id: str) -> tuple[str, Any] | None:
    """(secret, user) of an active access key in the local IAM (moto, in this process)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    for user in list(iam_backends[DEFAULT_ACCOUNT_ID]["global"].users.values()):
        for key in user.access_keys:
            if key.access_key_id == access_key_id and key.status == "Active":
                return key.secret_access_key, user
    return None


def expected_signature(
    *, method: str, url: str, headers: dict[str, str], body: bytes, credentials: Any, region: str, amz_date: str
) -> str:
    """The signature botocore's SigV4 signer gives this request (headers: only those signed)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(credentials, SERVICE, region)
    return signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)


def verify(
    *, method: str, url: str, headers: dict[str, str], body: bytes, now: datetime, operators_group: str, iam: Any
) -> Caller:
    """The caller of a SigV4-signed request, or Refused as API Gateway would refuse it."""
    import hmac

    from botocore.credentials import Credentials

    headers = {k.lower(): v for k, v in headers.items()}
    authorization = headers.get("authorization")
    if not authorization:
        raise Refused(UNKNOWN_ROUTE, "Missing Authentication Token")
    parsed = _AUTHORIZATION.match(authorization.strip())
    amz_date = headers.get("x-amz-date", "")
    if parsed is None or parsed["service"] != SERVICE or not amz_date.startswith(parsed["date"]):
        raise Refused(INVALID_SIGNATURE, "Authorization header is not a SigV4 signature for execute-api.")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused(INVALID_SIGNATURE, "X-Amz-Date is not a SigV4 timestamp.") from None
    if abs(now - signed_at) > SIGNING_WINDOW:
        raise Refused(INVALID_SIGNATURE, "Signature expired.")
    found = local_iam_secret(parsed["key"])
    if found is None:
        raise Refused(INVALID_SIGNATURE, "The security token included in the request is invalid.")
    secret, user = found
    signed = parsed["signed"].split(";")
    if "host" not in signed or any(name not in headers for name in signed):
        raise Refused(INVALID_SIGNATURE, "A signed header is missing.")
    credentials = Credentials(parsed["key"], secret, headers.get("x-amz-security-token"))
    expected = expected_signature(
        method=method,
        url=url,
        headers={name: headers[name] for name in signed},
        body=body,
        credentials=credentials,
        region=parsed["region"],
        amz_date=amz_date,
    )
    if not hmac.compare_digest(expected, parsed["signature"]):
        raise Refused(
            INVALID_SIGNATURE, "The request signature we calculated does not match the signature you provided."
        )
    groups = {g["GroupName"] for g in iam.list_groups_for_user(UserName=user.name)["Groups"]}
    if operators_group not in groups:
        raise Refused(ACCESS_DENIED, f"User: {user.arn} is not authorized to perform: execute-api:Invoke")
    return Caller(arn=user.arn, user_name=user.name, access_key=parsed["key"], account=user.account_id)


class SigV4Authorizer(LocalGatewayAuthorizer):
    """Chalice's local authorizer, with routes under IAM authorization checked as API Gateway does."""

    def __init__(self, app_object: Any, *, operators_group: str, iam: Any) -> None:
        super().__init__(app_object)
        self._operators_group = operators_group
        self._iam = iam

    def authorize(self, raw_path: str, lambda_event: dict, lambda_context: Any) -> Any:
        route = self._route_for_event(lambda_event)
        if route is None or not isinstance(route.authorizer, IAMAuthorizer):
            return super().authorize(raw_path, lambda_event, lambda_context)
        headers = lambda_event["headers"]
        body = lambda_event.get("body") or b""
        if lambda_event.get("isBase64Encoded"):
            import base64

            body = base64.b64decode(body)
        try:
            caller = verify(
                method=lambda_event["requestContext"]["httpMethod"],
                url=f"http://{headers.get('host', 'localhost')}{raw_path}",
                headers=headers,
                body=body.encode() if isinstance(body, str) else body,
                now=datetime.now(UTC),
                operators_group=self._operators_group,
                iam=self._iam,
            )
        except Refused as refused:
            raise GatewayRefusal(refused) from None
        lambda_event["requestContext"]["identity"].update(
            {
                "userArn": caller.arn,
                "user": caller.user_name,
                "caller": caller.user_name,
                "accessKey": caller.access_key,
                "accountId": caller.account,
            }
        )
        return lambda_event, lambda_context


def signing_gateway(app_object: Any, config: Any, *, operators_group: str, iam: Any) -> LocalGateway:
    """Chalice's local gateway with the SigV4 authorizer in place of its admit-all one."""
    gateway = LocalGateway(app_object, config)
    gateway._authorizer = SigV4Authorizer(app_object, operators_group=operators_group, iam=iam)
    return gateway


LOCAL_OPERATOR = "local-operator"


def provision_operators(session: Any, group: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The operators' group in the local IAM with one member, `local-operator`: (what the SigV4
    authorizer needs, that user's access key). More operators: add IAM users to the group."""
    iam = session.client("iam")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=LOCAL_OPERATOR)
    iam.add_user_to_group(GroupName=group, UserName=LOCAL_OPERATOR)
    key = iam.create_access_key(UserName=LOCAL_OPERATOR)["AccessKey"]
    credentials = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    return {"operators_group": group, "iam": iam}, credentials
