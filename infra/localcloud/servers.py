"""HTTP servers the local cloud runs in background threads, each stoppable from the main thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


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
