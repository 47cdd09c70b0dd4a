"""The reference web app on the stack (infra/cdk/webapp.py), read from the synthesized template: a
private bucket that only the distribution reads (Origin Access Control), the local cloud's paths and
exactly its headers, and the files deployed with the `config.json` naming the stage's API."""

from __future__ import annotations

import json
import subprocess

from infra.localcloud.webapp import WEB_ROOT, WebApp
from tests.infra.conftest import PUBLIC_URL

CONTENT_BUCKET_ORIGIN = "https://pixelkeep-test-content.s3.amazonaws.com"  # where presigned URLs point


def _distribution(template) -> tuple[str, dict]:
    ((name, distribution),) = template.of_type("AWS::CloudFront::Distribution").items()
    return name, distribution["Properties"]["DistributionConfig"]


def _deployment(template) -> dict:
    (deployment,) = template.of_type("Custom::CDKBucketDeployment").values()
    return deployment["Properties"]


def test_the_distribution_reads_its_bucket_through_origin_access_control(template):
    _, config = _distribution(template)
    (origin,) = config["Origins"]
    bucket, _ = template.web_app_bucket()
    assert origin["DomainName"] == {"Fn::GetAtt": [bucket, "RegionalDomainName"]}, "the REST endpoint, no website"
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}, "no legacy origin access identity"
    oac_id = origin["OriginAccessControlId"]["Fn::GetAtt"][0]
    oac = template.resources[oac_id]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]


def test_the_web_app_bucket_is_private_and_read_only_by_this_distribution(template):
    bucket_id, bucket = template.web_app_bucket()
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "WebsiteConfiguration" not in properties, "served through CloudFront only"
    distribution_id, _ = _distribution(template)
    allows = [
        statement
        for policy in template.of_type("AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert {"Ref": distribution_id} in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]


def _served_headers(template) -> dict[str, str]:
    """The headers the distribution's response headers policy adds to every file, as HTTP headers."""
    _, config = _distribution(template)
    policy_id = config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]["Ref"]
    policy = template.resources[policy_id]["Properties"]["ResponseHeadersPolicyConfig"]
    security, custom = policy["SecurityHeadersConfig"], policy["CustomHeadersConfig"]["Items"]
    assert all(setting["Override"] for setting in [*security.values(), *custom]), "the policy's headers win"
    hsts = security["StrictTransportSecurity"]
    return {
        "Content-Security-Policy": security["ContentSecurityPolicy"]["ContentSecurityPolicy"],
        "Strict-Transport-Security": f"max-age={hsts['AccessControlMaxAgeSec']}"
        + ("; includeSubDomains" if hsts.get("IncludeSubdomains") else "")
        + ("; preload" if hsts.get("Preload") else ""),
        "X-Content-Type-Options": "nosniff",  # the only value CloudFront's ContentTypeOptions sends
        "X-Frame-Options": security["FrameOptions"]["FrameOption"],
        "Referrer-Policy": security["ReferrerPolicy"]["ReferrerPolicy"],
        **{header["Header"]: header["Value"] for header in custom},
    }


def test_the_distribution_sends_exactly_the_local_servers_csp_and_security_headers(template):
    """The local cloud's server, given the origins the deployed app reads data from (the API on its
    own origin, the content bucket), sends these headers with every file; CloudFront sends the same."""
    local = WebApp(storage_origins=(PUBLIC_URL, CONTENT_BUCKET_ORIGIN)).headers("text/html; charset=utf-8")
    del local["Content-Type"]
    served = _served_headers(template)
    assert served["Content-Security-Policy"] == local["Content-Security-Policy"]
    assert served == local
    assert f"connect-src 'self' {PUBLIC_URL} {CONTENT_BUCKET_ORIGIN};" in served["Content-Security-Policy"]


def _run_paths_function(template, uris: list[str]) -> list[dict]:
    """The distribution's viewer-request function, run in Node on a request for each uri."""
    _, config = _distribution(template)
    (association,) = config["DefaultCacheBehavior"]["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    function = template.resources[association["FunctionARN"]["Fn::GetAtt"][0]]["Properties"]
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    calls = f"{json.dumps(uris)}.map(function (uri) {{ return handler({{request: {{uri: uri}}}}); }})"
    script = function["FunctionCode"] + f"\nconsole.log(JSON.stringify({calls}));"
    completed = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True)  # noqa: S603, S607
    return json.loads(completed.stdout)


def test_the_distribution_answers_the_paths_as_the_local_server_does(template):
    local = WebApp(storage_origins=())
    redirected = ["/", "/app"]
    served = ["/app/", "/app/js/main.js", "/app/app.css"]
    answers = _run_paths_function(template, redirected + served)
    for uri, answer in zip(redirected, answers, strict=False):
        status, headers, _ = local.answer(uri)
        assert answer["statusCode"] == status == 302, uri
        assert answer["headers"]["location"]["value"] == headers["Location"], uri
        assert answer["headers"]["cache-control"]["value"] == headers["Cache-Control"], uri
    deployment = _deployment(template)
    for uri, answer in zip(served, answers[len(redirected) :], strict=True):
        key = answer["uri"].removeprefix("/")  # the object the distribution asks the bucket for
        assert key.startswith(deployment["DestinationBucketKeyPrefix"] + "/"), uri
        file = WEB_ROOT / key.removeprefix(deployment["DestinationBucketKeyPrefix"] + "/")
        assert file.is_file(), uri
        assert local.answer(uri)[2] == file.read_bytes(), f"the local server serves the same file for {uri}"


def _asset_dir(template, object_key: str):
    return template.path.parent / f"asset.{object_key.removesuffix('.zip')}"


def test_the_files_and_the_config_naming_the_stages_api_are_deployed_under_the_apps_path(template):
    deployment = _deployment(template)
    bucket, _ = template.web_app_bucket()
    distribution, _ = _distribution(template)
    assert deployment["DestinationBucketName"] == {"Ref": bucket}
    assert deployment["DestinationBucketKeyPrefix"] == "app"
    assert (deployment["DistributionId"], deployment["DistributionPaths"]) == ({"Ref": distribution}, ["/app/*"])
    files, config = (_asset_dir(template, key) for key in deployment["SourceObjectKeys"])
    assert (files / "index.html").read_bytes() == (WEB_ROOT / "index.html").read_bytes()
    assert sorted(p.relative_to(files) for p in files.rglob("*") if p.is_file()) == sorted(
        p.relative_to(WEB_ROOT) for p in WEB_ROOT.rglob("*") if p.is_file()
    )
    assert json.loads((config / "config.json").read_text(encoding="utf-8")) == {"api": PUBLIC_URL}


def test_sec5_the_deployment_function_is_held_like_the_apps(template):
    """Its log group keeps technical logs 90 days, as the app's do (SEC-5); it has a reserved
    concurrency and the stack's dead-letter queue for failed asynchronous invocations, as every
    function of the app."""
    (function,) = template.deployment_functions().values()
    properties = function["Properties"]
    log_group = template.resources[properties["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] == 90
    assert properties["ReservedConcurrentExecutions"] == 1
    (failures,) = [
        k
        for k, q in template.of_type("AWS::SQS::Queue").items()
        if q["Properties"]["QueueName"].endswith("-async-failures")
    ]
    assert properties["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [failures, "Arn"]}}
