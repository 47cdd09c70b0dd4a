"""HTTP servers the local cloud runs in background threads, each stoppable from the main thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.local import ChaliceRequestHandler, ForbiddenError, ThreadedHTTPServer

from infra.gateway_responses import DEFAULT_4XX, DEFAULT_5XX, HEADERS, UNKNOWN_ROUTE
from infra.redaction import redact_tokens

# socketserver's default listen backlog is 5: a page firing a burst of requests saw resets.
API_BACKLOG = 1024


class ServerThread:
    """Runs `server.serve_forever()` in a thread; `stop()` shuts it down and joins the thread.

    Works for any socketserver-based server: werkzeug's and Chalice's local server alike.
    """

    def __init__(self, name: str, server: Any) -> None:
        self.name = name
        self.server = server
        self._thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout)


def wsgi_server(name: str, host: str, port: int, app: Callable[..., Any]) -> ServerThread:
    from werkzeug.serving import make_server

    return ServerThread(name, make_server(host, port, app, threaded=True))


class ApiHTTPServer(ThreadedHTTPServer):
    """Chalice's threaded local server with a real listen backlog."""

    request_queue_size = API_BACKLOG


class ApiRequestHandler(ChaliceRequestHandler):
    """Chalice's request handler, answering what API Gateway answers itself with the Gateway
    Responses the stack deploys (infra/gateway_responses.py), through the gateway `gateway_factory`
    builds (API Gateway's IAM authorization: infra/localcloud/iam_auth.py)."""

    gateway_factory: Callable[[Any, Any], Any] | None = None

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
        if self.gateway_factory is None:
            super().__init__(request, client_address, server, app_object, config)
            return
        # As ChaliceRequestHandler does, with another gateway: the base class serves the request
        # from inside its constructor.
        self.local_gateway = self.gateway_factory(app_object, config)
        # API Gateway's sourceIp is the caller's address; Chalice's local server says 127.0.0.1 always
        self.local_gateway.event_converter.LOCAL_SOURCE_IP = client_address[0]
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base class's name)
        super().log_message(format, *(redact_tokens(arg) if isinstance(arg, str) else arg for arg in args))

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        """The reference web app's files and the `/` redirect; everything else is the API."""
        web_app = getattr(self.server, "web_app", None)
        answer = web_app.answer(self.path) if web_app is not None else None
        if answer is None:
            self._generic_handle()
        else:
            self._send_http_response(*answer)

    def __getattr__(self, name: str) -> Any:
        """A method no route has (TRACE, CONNECT, anything): what API Gateway answers, in the one
        error shape, where http.server would send its own 501 HTML page."""
        if name.startswith("do_"):
            return self._unknown_method
        raise AttributeError(name)

    def _unknown_method(self) -> None:
        self._parse_payload()  # read the body off the connection
        self._send_http_response(UNKNOWN_ROUTE.status, dict(HEADERS), UNKNOWN_ROUTE.body(""))

    def _send_http_response_with_body(self, code: int, headers: Any, body: str | bytes) -> None:
        """An answer to HEAD has its headers and no body (RFC 9110 9.3.2), as API Gateway's: a keep-alive
        client does not read one, so the next answer on the connection would begin with it."""
        if self.command != "HEAD":
            super()._send_http_response_with_body(code, headers, body)
            return
        self.send_response(code)
        self.send_header("Content-Length", str(len(body.encode() if isinstance(body, str) else body)))
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self._send_headers(headers)

    def _send_error_response(self, error: Any) -> None:
        from infra.localcloud.iam_auth import GatewayRefusal

        if isinstance(error, GatewayRefusal):  # already API Gateway's rendered answer
            self._send_http_response(error.CODE, {**error.headers, **HEADERS}, error.body)
            return
        if isinstance(error, ForbiddenError):  # Chalice's stand-in for an unknown route
            response = UNKNOWN_ROUTE
        else:
            response = DEFAULT_4XX if error.CODE < 500 else DEFAULT_5XX
        try:
            message = json.loads(error.body or b"{}").get("message") or ""
        except ValueError:
            message = ""
        status = response.status or error.CODE
        self._send_http_response(status, {**error.headers, **HEADERS}, response.body(message))


def chalice_api_server(
    name: str,
    host: str,
    port: int,
    app: Any,
    config: Any,
    web_app: Any = None,
    gateway_factory: Callable[[Any, Any], Any] | None = None,
) -> ServerThread:
    """The app behind Chalice's local API Gateway, threaded, with API Gateway's error answers, and
    the reference web app (infra/localcloud/webapp.py) beside it when given."""
    from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer

    if not isinstance(app, LocalChalice):
        # As chalice.local.create_local_server does: each request thread sees its own request.
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    handler = type("Handler", (ApiRequestHandler,), {"gateway_factory": staticmethod(gateway_factory)})
    local = LocalDevServer(app, config, host, port, handler_cls=handler, server_cls=ApiHTTPServer)
    local.server.web_app = web_app
    return ServerThread(name, local.server)
