"""Operators as IAM principals in tests (OPS-6): a user in the local IAM's operators' group, and
requests signed with its access key by botocore's SigV4 signer, as the AWS CLI signs them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operator:
    arn: str
    access_key: str
    secret_key: str
    region: str

    def headers(self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> dict:
        """`headers` plus the SigV4 ones (Authorization, X-Amz-Date, Host) for this request."""
        from urllib.parse import urlsplit

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        # The HTTP client sends Host itself; the signer signs it from the URL without adding it.
        request = AWSRequest(
            method=method, url=url, data=body, headers={"Host": urlsplit(url).netloc, **(headers or {})}
        )
        SigV4Auth(Credentials(self.access_key, self.secret_key), "execute-api", self.region).add_auth(request)
        return dict(request.headers.items())


def new_operator(iam: Any, group: str, name: str, *, in_group: bool = True) -> Operator:
    """An IAM user with an access key, in the operators' group (created if missing) unless told not."""
    try:
        iam.create_group(GroupName=group)
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    user = iam.create_user(UserName=name)["User"]
    if in_group:
        iam.add_user_to_group(GroupName=group, UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Operator(user["Arn"], key["AccessKeyId"], key["SecretAccessKey"], iam.meta.region_name)


class SignedClient:
    """chalice.test's HTTP client with every request signed as `operator`."""

    def __init__(self, client: Any, operator: Operator) -> None:
        self._client = client
        self.operator = operator

    def request(self, method: str, path: str, body: Any = None, headers: dict | None = None) -> Any:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        base = {"Content-Type": "application/json"} if data else {}
        signed = self.operator.headers(method, f"http://localhost{path}", data, {**base, **(headers or {})})
        return self._client.http.request(method, path, headers=signed, body=data)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body, **kwargs)
