"""The reference web app (web/) on CloudFront, as the local cloud serves it (infra/localcloud/webapp.py).

A private bucket (public access blocked, encrypted, no website hosting) that only this distribution
reads, through Origin Access Control. A CloudFront Function gives the paths the app expects: `/` and
`/app` redirect to `/app/`, and a folder serves its index.html. A response headers policy carries the
headers of infra/webapp_policy.py, the same ones the local cloud sends. A BucketDeployment copies
web/ and the app's `config.json` (the stage's API URL) under `app/` and invalidates the cache; its
function (the CDK's) is held like the app's: a log group with retention, a reserved concurrency, the
dead-letter queue, and a role that invalidates this distribution only.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.webapp_policy import (
    APP_PATH,
    CONFIG_FILE,
    HSTS_MAX_AGE_SECONDS,
    INDEX_FILE,
    REDIRECTED_PATHS,
    WEB_ROOT,
    security_headers,
)

# Headers CloudFront sets through its security-headers settings; any other goes in as a custom header.
HSTS = f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains"
SECURITY_HEADER_NAMES = {
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
}


def s3_origin(bucket_name: str) -> str:
    """The origin browsers reach a bucket at through the URLs botocore presigns (virtual-hosted,
    the global endpoint, in every region)."""
    return f"https://{bucket_name}.s3.amazonaws.com"


def paths_function_code() -> str:
    """The viewer-request function (CloudFront Functions, JavaScript 2.0): the local cloud's paths."""
    return (
        f"var APP = {json.dumps(APP_PATH)};\n"
        f"var REDIRECTED = {json.dumps(list(REDIRECTED_PATHS))};\n"
        f"var INDEX = {json.dumps(INDEX_FILE)};\n"
        "function handler(event) {\n"
        "  var request = event.request;\n"
        "  if (REDIRECTED.indexOf(request.uri) !== -1) {\n"
        '    return {statusCode: 302, statusDescription: "Found",\n'
        '            headers: {location: {value: APP}, "cache-control": {value: "no-store"}}};\n'
        "  }\n"
        '  if (request.uri.endsWith("/")) request.uri += INDEX;\n'
        "  return request;\n"
        "}\n"
    )


def response_headers(scope: Construct, id: str, headers: dict[str, str]) -> cloudfront.ResponseHeadersPolicy:
    """`headers` as CloudFront's response headers policy, each overriding what the origin sends."""
    fixed = {"X-Content-Type-Options": "nosniff", "Strict-Transport-Security": HSTS}
    drifted = {name: headers.get(name) for name, value in fixed.items() if headers.get(name) != value}
    if drifted:
        raise ValueError(f"CloudFront's settings give {fixed}; the web app's headers say {drifted}")
    return cloudfront.ResponseHeadersPolicy(
        scope,
        id,
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=headers["Content-Security-Policy"], override=True
            ),
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=Duration.seconds(HSTS_MAX_AGE_SECONDS), include_subdomains=True, override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption[_enum_name(headers["X-Frame-Options"])], override=True
            ),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy[_enum_name(headers["Referrer-Policy"])], override=True
            ),
        ),
        custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
            custom_headers=[
                cloudfront.ResponseCustomHeader(header=name, value=value, override=True)
                for name, value in headers.items()
                if name not in SECURITY_HEADER_NAMES
            ]
        ),
    )


def _enum_name(header_value: str) -> str:
    """`no-referrer` -> `NO_REFERRER`: the CDK's enum member for a header value."""
    return header_value.upper().replace("-", "_")


class WebAppHosting(Construct):
    """The bucket and distribution; `deploy` adds the files once the API's URL is known."""

    def __init__(self, scope: Construct, id: str, *, data_origins: tuple[str, ...]) -> None:
        super().__init__(scope, id)
        self.bucket = s3.Bucket(
            self,
            "Files",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=False,  # the app's files are web/ again at every deploy
            removal_policy=RemovalPolicy.RETAIN,
        )
        paths = cloudfront.Function(
            self,
            "Paths",
            code=cloudfront.FunctionCode.from_inline(paths_function_code()),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Pixelkeep reference web app",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=response_headers(self, "Headers", security_headers(data_origins)),
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=paths, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        self.app_url = self.origin + APP_PATH

    def deploy(
        self, *, config: dict, log_retention_days: int, log_key: kms.IKey | None, dead_letters: sqs.IQueue
    ) -> s3deploy.BucketDeployment:
        """web/ and `config.json` under the app's path; the distribution's copies are invalidated.
        Its log group is encrypted with the stack's customer key when there is one."""
        log_group = logs.LogGroup(self, "DeploymentLogs", encryption_key=log_key, removal_policy=RemovalPolicy.DESTROY)
        log_group.node.default_child.retention_in_days = log_retention_days  # a number, not the enum
        deployment = s3deploy.BucketDeployment(
            self,
            "Deployment",
            sources=[s3deploy.Source.asset(str(WEB_ROOT)), s3deploy.Source.json_data(CONFIG_FILE, config)],
            destination_bucket=self.bucket,
            destination_key_prefix=APP_PATH.strip("/"),
            distribution=self.distribution,
            distribution_paths=[APP_PATH + "*"],
            log_group=log_group,
        )
        handler = deployment_function(Stack.of(self))
        handler_cfn: lambda_.CfnFunction = handler.node.default_child
        handler_cfn.add_property_override("ReservedConcurrentExecutions", DEPLOYMENT_CONCURRENCY)
        handler_cfn.add_property_override("DeadLetterConfig", {"TargetArn": dead_letters.queue_arn})
        dead_letters.grant_send_messages(deployment.handler_role)
        self._invalidate_this_distribution_only(deployment.handler_role)
        return deployment

    def _invalidate_this_distribution_only(self, role: iam.IRole) -> None:
        """The CDK grants the deployment's role invalidations of every distribution ("*"); narrow
        the statement to this one."""
        stack = Stack.of(self)
        policy: iam.Policy = role.node.find_child("DefaultPolicy")
        statements = stack.resolve(policy.document)["Statement"]
        arn = stack.resolve(self.distribution.distribution_arn)
        for statement in statements:
            if statement["Resource"] == "*" and set(statement["Action"]) == INVALIDATION_ACTIONS:
                statement["Resource"] = arn
        policy.node.default_child.add_property_override("PolicyDocument.Statement", statements)


DEPLOYMENT_CONCURRENCY = 1  # deploys run one at a time
INVALIDATION_ACTIONS = {"cloudfront:GetInvalidation", "cloudfront:CreateInvalidation"}


def deployment_function(stack: Stack) -> lambda_.Function:
    """The CDK's BucketDeployment handler: one function per stack, a child of the stack itself."""
    (handler,) = [
        child
        for child in stack.node.children
        if isinstance(child, lambda_.Function) and child.node.id.startswith("Custom::CDKBucketDeployment")
    ]
    return handler
