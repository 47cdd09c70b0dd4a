"""The reference web app as the local cloud serves it (infra/localcloud/webapp.py): `/` redirects to
`/app/`, files come with a strict CSP (own origin only, storage for data), nothing outside web/
is reachable, and the app loads nothing from another host (no CDN, no inline script)."""

from __future__ import annotations

import re

from infra.localcloud.webapp import WEB_ROOT, WebApp

STORAGE = "http://127.0.0.1:4566"


def web_app() -> WebApp:
    return WebApp(storage_origins=(STORAGE,), config={"api": ""})


def test_the_root_redirects_to_the_app():
    assert web_app().answer("/")[:2] == (302, {"Location": "/app/", "Cache-Control": "no-store"})
    assert web_app().answer("/health") is None, "API paths are the API's"


def test_files_carry_a_csp_that_allows_only_the_own_origin_and_storage():
    status, headers, body = web_app().answer("/app/")
    assert status == 200
    assert body.startswith(b"<!doctype html>")
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "default-src 'none'" in policy
    assert f"connect-src 'self' {STORAGE}" in policy
    assert "unsafe-inline" not in policy
    assert web_app().answer("/app/js/main.js")[1]["Content-Type"].startswith("text/javascript")


def test_nothing_outside_the_app_folder_is_served():
    for path in ("/app/../README.md", "/app/%2e%2e/app.py", "/app/js/../../Makefile", "/app/missing.js"):
        assert web_app().answer(path)[0] == 404, path


def test_the_app_loads_nothing_from_another_host_and_has_no_inline_code():
    for file in WEB_ROOT.rglob("*"):
        if file.suffix in (".html", ".js", ".css"):
            text = file.read_text(encoding="utf-8")
            assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), file
            assert not re.search(r"""import .* from ["']https?:""", text), file
            assert "<script>" not in text, f"inline script in {file}"
            assert " style=" not in text, f"inline style in {file}"
