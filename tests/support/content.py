"""Helpers for the content tests: real image bytes, the browser's presigned POST, and the
S3 -> SQS -> processor hop run in-process."""

from __future__ import annotations

import io
import json


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 6)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(buffer, format=fmt)
    return buffer.getvalue()


GPS_IFD = 0x8825
ORIENTATION = 0x0112
POLYGLOT_TAIL = b"<html><script>alert(document.cookie)</script></html>"


def photo_with_location(fmt: str = "JPEG", size: tuple[int, int] = (12, 7), orientation: int = 1) -> bytes:
    """A camera-like image: EXIF with GPS coordinates, a camera make and an orientation tag."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, format=fmt, exif=exif.tobytes())
    return buffer.getvalue()


def polyglot_png() -> bytes:
    """A valid PNG carrying a script in a text chunk and an HTML page after its end."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Comment", "<script>alert(1)</script>")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 10, 10)).save(buffer, format="PNG", pnginfo=text)
    return buffer.getvalue() + POLYGLOT_TAIL


def embedded_metadata(data: bytes) -> dict:
    """What an image file carries besides its pixels: EXIF tags and Pillow's info entries."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        info = {k: v for k, v in image.info.items() if k != "dpi" and not k.startswith("jfif")}  # JPEG's header
        return {"exif": dict(image.getexif()), "info": info}


def uploaded(session, user_id: str, fmt: str = "PNG", size: tuple[int, int] = (8, 6)) -> dict:
    """An upload started, sent by the browser and checked by the processor."""
    from chalicelib import wiring
    from chalicelib.domain import uploads

    upload = wiring.content_service().start_upload(user_id, uploads.CONTENT_TYPES[fmt])
    post_file(upload, image_bytes(fmt, size))
    upload["outcomes"] = drain_upload_queue(session)
    return upload


def post_file(upload: dict, data: bytes, filename: str = "picture.png") -> int:
    """What a browser does with the presigned POST (moto intercepts `requests` in-process)."""
    import requests

    form = upload["upload"]
    response = requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=10)
    return response.status_code


def upload_messages(session) -> list[dict]:
    """The S3 notifications waiting in the uploads queue (one receive: up to ten)."""
    from chalicelib.settings import get_settings
    from chalicelib.store.layout import UPLOADS_QUEUE

    sqs = session.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=get_settings().queue_name(UPLOADS_QUEUE))["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        message["QueueUrl"] = queue_url
    return messages


def sqs_event(messages: list[dict]) -> dict:
    """The event the SQS event source hands the consumer for these messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m.get("ReceiptHandle", "handle"),
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for m in messages
        ]
    }


def drain_upload_queue(session) -> list[str]:
    """Deliver the queued S3 notifications to the upload processor, as the event source would:
    messages it reports as failed stay in the queue. Returns what the processor did per object."""
    from unittest import mock

    from chalicelib.domain import uploads
    from chalicelib.events.uploads import upload_processor

    outcomes: list[str] = []
    process = uploads.process_uploaded_object

    def recorded(**kwargs):
        outcomes.append(process(**kwargs))
        return outcomes[-1]

    sqs = session.client("sqs")
    while messages := upload_messages(session):
        with mock.patch.object(uploads, "process_uploaded_object", recorded):
            response = upload_processor(sqs_event(messages), None)
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=message["QueueUrl"], ReceiptHandle=message["ReceiptHandle"])
    return outcomes


def policy_conditions(upload: dict) -> list:
    import base64

    return json.loads(base64.b64decode(upload["upload"]["fields"]["policy"]))["conditions"]


def stored_object(session, key: str) -> dict:
    """The stored object's bytes and the content type S3 serves it with."""
    from chalicelib.settings import get_settings
    from chalicelib.store.layout import CONTENT_BUCKET

    response = session.client("s3").get_object(Bucket=get_settings().bucket_name(CONTENT_BUCKET), Key=key)
    return {"body": response["Body"].read(), "content_type": response["ContentType"]}


def object_keys(session, prefix: str) -> list[str]:
    from chalicelib.settings import get_settings
    from chalicelib.store.layout import CONTENT_BUCKET

    s3 = session.client("s3")
    listing = s3.list_objects_v2(Bucket=get_settings().bucket_name(CONTENT_BUCKET), Prefix=prefix)
    return [obj["Key"] for obj in listing.get("Contents", [])]


PROVIDER_URL = "http://provider.test"


class WsgiHttp:
    """The adapters' HTTP transport, answered in-process by a WSGI app (the embedded provider)."""

    def __init__(self, app, base_url: str = PROVIDER_URL) -> None:
        self.app = app
        self.base_url = base_url
        self.calls: list[tuple[str, str]] = []

    def request(self, method, url, *, headers=None, body=None):
        from urllib.parse import urlsplit
        from wsgiref.util import setup_testing_defaults

        from chalicelib.gateways.providers.common import HttpResponse

        self.calls.append((method, url))
        if not url.startswith(self.base_url):
            raise AssertionError(f"unexpected outbound request to {url}")
        parts = urlsplit(url)
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "HTTP_HOST": parts.netloc,
            "SERVER_NAME": parts.hostname,
            "SERVER_PORT": "80",
            "wsgi.input": io.BytesIO(body or b""),
            "CONTENT_LENGTH": str(len(body or b"")),
        }
        for name, value in (headers or {}).items():
            key = name.upper().replace("-", "_")
            environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
        setup_testing_defaults(environ)
        status: list[str] = []
        response_headers: list = []

        def start_response(line, items):
            status.append(line)
            response_headers.extend(items)

        payload = b"".join(self.app(environ, start_response))
        return HttpResponse(int(status[0].split()[0]), dict(response_headers), payload)


def s3_fetch(url: str) -> bytes:
    """The provider fetching a presigned GET (moto answers `requests` in-process)."""
    import requests

    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return response.content
