"""The local cloud in one process: moto, the Lambda hook, resources provisioned from the one
description, Chalice's local server, the emulators, the tools server and the expiry sweeper."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass(frozen=True)
class Emulator:
    name: str
    module: str
    port_variable: str
    default_port: int
    app_setting: str  # the app's setting that points at this emulator
    app_setting_path: str = ""  # appended to the emulator's URL in that setting


EMULATORS = (
    Emulator("stripe", "infra.emulators.stripe", "PIXELKEEP_STRIPE_PORT", 8010, "PIXELKEEP_STRIPE_API_BASE"),
    Emulator(
        "provider", "infra.emulators.model_provider", "PIXELKEEP_PROVIDER_PORT", 8011, "PIXELKEEP_PROVIDER_BASE_URL"
    ),
    Emulator("polar", "infra.emulators.polar", "PIXELKEEP_POLAR_PORT", 8012, "PIXELKEEP_POLAR_API_BASE"),
    Emulator(
        "lemonsqueezy",
        "infra.emulators.lemonsqueezy",
        "PIXELKEEP_LEMONSQUEEZY_PORT",
        8013,
        "PIXELKEEP_LEMONSQUEEZY_API_BASE",
    ),
    Emulator("telegram", "infra.emulators.telegram", "PIXELKEEP_TELEGRAM_PORT", 8014, "PIXELKEEP_TELEGRAM_API_BASE"),
    Emulator(
        "google",
        "infra.emulators.google_signin",
        "PIXELKEEP_GOOGLE_PORT",
        8015,
        "PIXELKEEP_GOOGLE_JWKS_URL",
        "/oauth2/v3/certs",
    ),
)


@dataclass(frozen=True)
class Ports:
    api: int
    tools: int
    moto: int
    emulators: dict[str, int]

    @classmethod
    def from_environment(cls) -> Ports:
        return cls(
            api=_port("PIXELKEEP_PORT", 8000),
            tools=_port("PIXELKEEP_TOOLS_PORT", 8001),
            moto=_port("PIXELKEEP_MOTO_PORT", 4566),
            emulators={e.name: _port(e.port_variable, e.default_port) for e in EMULATORS},
        )


def available(emulator: Emulator) -> bool:
    try:
        return importlib.util.find_spec(emulator.module) is not None
    except ModuleNotFoundError:
        return False


def _pages(session: Any) -> dict[str, Any]:
    from infra.localcloud.monitoring import overview, page

    return {
        "/metrics": lambda: (page(overview(session)), "text/html; charset=utf-8"),
        "/metrics.json": lambda: (json.dumps(overview(session)), "application/json"),
    }


@dataclass
class LocalCloud:
    ports: Ports
    app: Any = None  # a Chalice app; default: the one in app.py
    sweep_seconds: float = 5.0
    urls: dict[str, str] = field(default_factory=dict)
    state_machine_arns: dict[str, str] = field(default_factory=dict)
    skipped_consumers: list[str] = field(default_factory=list)
    state_dir: Path | None = None  # where the state is kept across restarts; None: start empty, keep nothing
    restored: Any = None  # persistence.Report of what the start took back, if anything
    saved: Any = None  # persistence.Report of the last save
    _iam: dict[str, Any] = field(default_factory=dict)  # the operators' group and the IAM client (OPS-6)
    operator_credentials: dict[str, str] = field(default_factory=dict)  # local-operator's access key
    _stack: ExitStack = field(default_factory=ExitStack)
    _emulator_apps: dict[str, Any] = field(default_factory=dict)
    _session: Any = None
    _description: Any = None
    _started: bool = False

    def _configure_environment(self, emulators: list[Emulator]) -> None:
        """Everything in this process talks to moto; the app finds the emulators through its settings."""
        moto_url = f"http://{HOST}:{self.ports.moto}"
        os.environ.update(FAKE_CREDENTIALS)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ["AWS_ENDPOINT_URL"] = moto_url
        os.environ["MOTO_PORT"] = str(self.ports.moto)  # Step Functions tasks call Lambda on this port
        os.environ["PIXELKEEP_PUBLIC_URL"] = self.urls["api"]
        for emulator in emulators:
            os.environ[emulator.app_setting] = self.urls[emulator.name] + emulator.app_setting_path

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address=HOST, port=self.ports.moto, verbose=False)
        server.start()
        self._stack.callback(server.stop)
        request = urllib.request.Request(  # noqa: S310  (our own http URL)
            f"{self.urls['moto']}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310  (our own http URL)

    def _provision(self) -> tuple[Any, Any]:
        import boto3

        from chalicelib import wiring
        from chalicelib.settings import get_settings
        from chalicelib.store import secrets
        from infra.description import describe, operators_group
        from infra.local_secrets import LOCAL_SECRETS
        from infra.localcloud import persistence
        from infra.localcloud.iam_auth import provision_operators
        from infra.provision import provision_compute, provision_storage, put_local_secrets, verify_sender

        wiring.reset()
        settings = get_settings()
        session = boto3.Session(region_name=settings.region)
        description = describe(settings, wiring.profile())
        self._session, self._description = session, description
        kept = self.state_dir if self.state_dir and persistence.has_state(self.state_dir) else None
        report = persistence.Report()
        provision_storage(session, description)
        if kept:
            persistence.restore_storage(kept, session=session, description=description, report=report)
        put_local_secrets(session, settings.secret_prefix, LOCAL_SECRETS)
        verify_sender(session, settings.email_sender)
        self._iam, self.operator_credentials = provision_operators(session, operators_group(settings))
        if kept:
            persistence.restore_secrets(kept, session=session, report=report)
            persistence.restore_outbox(kept, session=session, report=report)
        compute = provision_compute(session, description, [f.name for f in self.app.pure_lambda_functions])
        self.state_machine_arns = compute.state_machine_arns
        self.skipped_consumers = compute.skipped_consumers
        for logical, arn in compute.state_machine_arns.items():  # export, erasure, hold (DSR-12), notices
            os.environ[f"PIXELKEEP_{logical.upper()}_STATE_MACHINE_ARN"] = arn
        wiring.reset()
        if kept:
            # Executions running at the stop start again; one whose state machine is gone is named.
            lost = persistence.resume_executions(
                kept, session=session, state_machine_arns=self.state_machine_arns, report=report
            )
            if lost:
                print(f"workflow executions marked failed (their state machine is gone): {', '.join(lost)}")
            self.restored = report
        secrets.clear_cache()
        return session, description

    def _serve_api(self) -> None:
        from chalice.config import Config

        from infra.localcloud.iam_auth import signing_gateway
        from infra.localcloud.servers import chalice_api_server
        from infra.localcloud.webapp import WebApp

        config = Config.create(chalice_stage="local", app_name=self.app.app_name, lambda_timeout=60)
        web_app = WebApp(storage_origins=(self.urls["moto"],), config=self._web_app_config())
        server = chalice_api_server(
            "api",
            HOST,
            self.ports.api,
            self.app,
            config,
            web_app,
            gateway_factory=partial(signing_gateway, **self._iam),
        )
        self._stack.callback(server.start().stop)

    def _web_app_config(self) -> dict[str, Any]:
        """What the reference app reads from /app/config.json: the API is its own origin; Google
        sign-in, where the profile enables it, goes to the embedded stand-in."""
        from infra.emulators.google_signin import AUTH_PATH
        from infra.local_secrets import LOCAL_SECRETS

        config: dict[str, Any] = {"api": ""}
        if "google" in self.urls:
            config["google"] = {
                "auth_url": self.urls["google"] + AUTH_PATH,
                "client_id": LOCAL_SECRETS["google-client-id"],
            }
        return config

    def start(self) -> LocalCloud:
        from infra.localcloud.fidelity import dynamodb_requests_one_at_a_time, s3_post_tagging
        from infra.localcloud.lambda_hook import lambda_dispatch
        from infra.localcloud.monitoring import evaluate_alarms
        from infra.localcloud.outbox import tools_app
        from infra.localcloud.servers import wsgi_server
        from infra.localcloud.sweeper import Sweeper

        emulators = [e for e in EMULATORS if available(e)]
        self.urls = {
            "api": f"http://{HOST}:{self.ports.api}",
            "tools": f"http://{HOST}:{self.ports.tools}",
            "moto": f"http://{HOST}:{self.ports.moto}",
            **{e.name: f"http://{HOST}:{self.ports.emulators[e.name]}" for e in emulators},
        }
        self._configure_environment(emulators)
        try:
            self._start_moto()
            if self.app is None:
                self.app = importlib.import_module("app").app
            self._stack.enter_context(lambda_dispatch(self.app))
            self._stack.enter_context(dynamodb_requests_one_at_a_time())
            self._stack.enter_context(s3_post_tagging())  # the clock tag lifecycle rules filter on (DSR-12)
            # Saved after the servers stop and while Lambda tasks still run here (closed in reverse).
            self._stack.callback(self._save)
            session, description = self._provision()
            for emulator in emulators:
                wsgi_app = importlib.import_module(emulator.module).create_app(api_base_url=self.urls["api"])
                self._resume_emulator(emulator.name, wsgi_app)
                server = wsgi_server(emulator.name, HOST, self.ports.emulators[emulator.name], wsgi_app)
                self._stack.callback(server.start().stop)
            self._ship_metrics(session, description)
            tools = wsgi_server("tools", HOST, self.ports.tools, tools_app(session.region_name, _pages(session)))
            self._stack.callback(tools.start().stop)
            self._serve_api()
            sweeper = Sweeper(session, description, self.sweep_seconds, also=(evaluate_alarms,))
            self._stack.callback(sweeper.start().stop)
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def _resume_emulator(self, name: str, wsgi_app: Any) -> None:
        from infra.localcloud import persistence

        self._emulator_apps[name] = wsgi_app
        emulator = getattr(wsgi_app, "emulator", None)
        if self.state_dir and hasattr(emulator, "resume"):
            emulator.resume(persistence.emulator_state(self.state_dir).get(name, {}))

    def _save(self) -> None:
        """On a clean stop of a cloud that started: the whole state to `state_dir`."""
        from infra.localcloud import persistence
        from infra.localcloud.outbox import sent_emails

        if not (self._started and self.state_dir):
            return
        from chalicelib.settings import get_settings

        emulators = {
            name: app.emulator.snapshot()
            for name, app in self._emulator_apps.items()
            if hasattr(getattr(app, "emulator", None), "snapshot")
        }
        self.saved = persistence.save(
            self.state_dir,
            session=self._session,
            description=self._description,
            secret_prefix=get_settings().secret_prefix,
            state_machine_arns=self.state_machine_arns,
            emails=sent_emails(self._session.region_name),
            emulators=emulators,
        )

    def _ship_metrics(self, session: Any, description: Any) -> None:
        """The app's metrics land in moto's CloudWatch, where the described alarms watch them (OPS-7)."""
        from chalicelib import metrics
        from infra.localcloud.monitoring import emf_to_cloudwatch, provision_alarms

        provision_alarms(session, description)
        sink = emf_to_cloudwatch(session)
        metrics.sinks.append(sink)
        self._stack.callback(metrics.sinks.remove, sink)

    def stop(self) -> None:
        """Stops everything started, newest first: sweeper, servers, the Lambda hook, moto."""
        self._stack.close()
