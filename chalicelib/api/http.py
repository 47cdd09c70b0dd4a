"""The HTTP edge: domain errors mapped to JSON responses in one place, and request parsing.

Chalice turns any exception escaping a view into a bare 500 before middleware sees it, so every
view is registered through `route()`, which applies `json_errors`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from chalice import Blueprint, Response
from chalice.app import BadRequestError, ChaliceViewError

from chalicelib import errors
from chalicelib.observability import logger

M = TypeVar("M")

STATUS: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 400,
    errors.SignatureInvalid: 400,
    errors.Unauthenticated: 401,
    errors.InsufficientCredits: 402,
    errors.Forbidden: 403,
    errors.Restricted: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.NotAcceptable: 406,
    errors.Gone: 410,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.RateLimited: 429,
    errors.UpstreamUnavailable: 503,
}
JSON_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}
MAX_PATH_PARAMETER = 256  # generation job tokens, the longest ids, are under 70 characters
# Codes for the statuses Chalice (and API Gateway) answer on their own; the rest come from STATUS.
EDGE_CODES = {405: "method_not_allowed", 500: "internal_error", 502: "upstream_unavailable", 504: "timeout"}


def error_response(
    status: int, code: str, message: str, details: dict | None = None, headers: dict | None = None
) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return Response(body=json.dumps(body), status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def domain_error_response(exc: errors.DomainError) -> Response:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, errors.RateLimited) else None
    return error_response(status, exc.code, exc.message, exc.details, headers)


def code_for_status(status: int) -> str:
    by_status = {code: kind.code for kind, code in reversed(STATUS.items())}  # first listed wins
    return EDGE_CODES.get(status) or by_status.get(status) or ("invalid_request" if status < 500 else "internal_error")


def one_error_shape(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware, registered first: the errors Chalice emits itself (405, 415, its 400s and
    500s, in `{"Code", "Message"}`) and any crash in the middleware below it get the one shape."""
    try:
        response = get_response(event)
    except Exception:
        logger.exception("unhandled error outside a view")
        return error_response(500, "internal_error", "An internal error occurred.")
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        headers = {k: v for k, v in (response.headers or {}).items() if k.lower() != "content-type"}
        return error_response(
            response.status_code, code_for_status(response.status_code), str(body["Message"]), headers=headers
        )
    return response


def json_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except errors.DomainError as exc:
            return domain_error_response(exc)
        except BadRequestError as exc:  # Chalice's own: malformed JSON body
            return error_response(400, "invalid_input", str(exc) or "Malformed request body.")
        except ChaliceViewError:
            raise
        except Exception:
            logger.exception("unhandled error", extra={"view": view.__name__})
            return error_response(500, "internal_error", "An internal error occurred.")

    return wrapper


def check_path_parameters(parameters: dict[str, Any]) -> None:
    """Ids in the path are short; a longer one is refused before it reaches a key or a log line."""
    too_long = sorted(name for name, value in parameters.items() if len(str(value)) > MAX_PATH_PARAMETER)
    if too_long:
        raise errors.InvalidInput(
            f"A path id has at most {MAX_PATH_PARAMETER} characters.", details={"parameters": too_long}
        )


def authorized_first(bp: Blueprint, view: Callable[..., Any]) -> Callable[..., Any]:
    """Path ids are bounded, and a route that asks for a user authenticates its caller before the
    view reads anything, so a key without the route's scope is refused whatever its body (ACC-9)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from chalicelib.api.access import asks_for_a_user
        from chalicelib.api.identity import authenticate

        check_path_parameters(kwargs)
        request = bp.current_request
        if asks_for_a_user(request):
            authenticate(request)
        return view(*args, **kwargs)

    return wrapper


def route(bp: Blueprint, path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`bp.route` with the caller authorized first and the one error mapping applied."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        bp.route(path, **options)(json_errors(authorized_first(bp, view)))
        return view

    return register


def parse_body(model: type[M], body: Any) -> M:
    """Validate a JSON body with a pydantic model; field errors become one 400 listing them."""
    from pydantic import ValidationError

    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise errors.InvalidInput("The request body must be a JSON object.")
    try:
        return model.model_validate(body)  # type: ignore[attr-defined]
    except ValidationError as exc:
        fields = [
            {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]}
            for err in exc.errors(include_input=False, include_url=False)
        ]
        raise errors.InvalidInput("The request body is invalid.", details={"fields": fields}) from exc


def json_body(bp: Blueprint) -> Any:
    """The current request's JSON body; malformed or absurdly nested JSON is a 400, not a 500."""
    request = bp.current_request
    raw = request.raw_body
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.InvalidInput("The request body is not valid JSON.") from exc
    except RecursionError as exc:
        raise errors.InvalidInput("The request body is nested too deeply.") from exc


@functools.cache
def email_address() -> Any:
    """The one request-body type for an e-mail address, on every route that takes one: only
    addresses a mail server accepts (chalicelib/domain/accounts/addresses.py) get past parsing,
    so a refused address leaves nothing written."""
    from typing import Annotated

    from pydantic import AfterValidator, Field

    from chalicelib.domain.accounts.addresses import address_problem

    def deliverable(value: str) -> str:
        problem = address_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    return Annotated[str, Field(min_length=3, max_length=254), AfterValidator(deliverable)]


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(body=json.dumps(body, default=str), status_code=status, headers={**JSON_HEADERS, **(headers or {})})
