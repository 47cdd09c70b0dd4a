"""The domain's error vocabulary. HTTP status codes live only in chalicelib/api/http.py."""

from __future__ import annotations


class DomainError(Exception):
    """Base class. `message` is safe to show to the caller; never put raw input in it."""

    code = "error"

    def __init__(self, message: str, *, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(DomainError):
    code = "invalid_input"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Gone(DomainError):
    code = "gone"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class NotAcceptable(DomainError):
    """The caller accepts none of the representations the resource has."""

    code = "not_acceptable"


class InsufficientCredits(DomainError):
    code = "insufficient_credits"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class SignatureInvalid(DomainError):
    """A webhook whose signature is missing, forged, stale or replayed."""

    code = "signature_invalid"


class Restricted(DomainError):
    """The user restricted or objected to this processing (DSR-5)."""

    code = "processing_restricted"


class UpstreamUnavailable(DomainError):
    code = "upstream_unavailable"
