"""Names vulture cannot see used (tests/unit/test_dead_code.py): called by a framework, a protocol
or the tests' own hooks. Each line says why; anything else unused is dead code."""

# ruff: noqa: B018  (bare attribute references are how vulture allowlists work)
from chalicelib import wiring
from chalicelib.domain.ports.rights import ArchiveStream, RightsRecords
from chalicelib.profile.schema import FieldError, Profile
from chalicelib.store import secrets
from chalicelib.store.personal_data import MultipartWriter, _Chunks

# Test isolation hooks: caches dropped between tests and after the local cloud changes settings.
wiring.reset
secrets.clear_cache

# The profile's dataclasses are validated by pydantic at build time (chalicelib/profile/compile.py),
# which reads their config by this name; a FieldError's field is read by getattr there.
Profile.__pydantic_config__
FieldError.field

# io's file protocol: zipfile and the multipart upload call these on the streams they are given.
_Chunks.readable
_Chunks.seekable
_Chunks.tell
_Chunks.seek
_Chunks.readinto
MultipartWriter.writable
MultipartWriter.flush
ArchiveStream.flush

# The request history behind the audit trail; the contract suite reads it back.
RightsRecords.events

# Overrides and protocols of the tools the infrastructure builds on.
from infra.cdk.chalice_app import RuntimePipRunner, _NoDependencies  # noqa: E402
from infra.emulators.stripe import StripeEmulator  # noqa: E402
from infra.localcloud.lambda_hook import LambdaContext  # noqa: E402
from infra.localcloud.servers import ApiRequestHandler  # noqa: E402

_NoDependencies.build_site_packages  # Chalice's packager calls it
RuntimePipRunner.download_manylinux_wheels  # Chalice's dependency builder calls it
LambdaContext.get_remaining_time_in_millis  # the Lambda context object's interface
ApiRequestHandler._send_error_response  # Chalice's local handler calls it
ApiRequestHandler.do_GET  # http.server dispatches GET requests to it
StripeEmulator.wait_for_retries  # the emulator's tests wait for its retry schedule with it

# The erasure's processor step (PAY-6) calls it for each enabled rail; until that step is wired the
# payment rails' contract suite is its caller, on every rail.
from chalicelib.domain.payment_rails import RailBilling  # noqa: E402

RailBilling.end_billing
