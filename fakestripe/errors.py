"""Stripe's error bodies, as the API returns them.

stripe-python picks its exception class from the HTTP status and `error.type`
(`_api_requestor.specific_v1_api_error`): 400/404 -> InvalidRequestError (or
IdempotencyError when the type says so), 401 -> AuthenticationError, 402 -> CardError,
403 -> PermissionError, 429 -> RateLimitError. So getting the status and type right is what
makes the SDK raise its real classes.
"""

from typing import Any

DOCS = "https://docs.stripe.com/error-codes"


class StripeError(Exception):
    """An API error; `body()` is exactly the JSON Stripe sends."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}

    def error_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"{DOCS}/{self.code.replace('_', '-')}"
        if self.decline_code:
            error["decline_code"] = self.decline_code
        if self.param is not None:
            error["param"] = self.param
        error["request_log_url"] = "https://dashboard.stripe.com/test/logs"
        error.update(self.extra)
        return error

    def body(self) -> dict[str, Any]:
        return {"error": self.error_dict()}


def unknown_parameter(name: str) -> StripeError:
    return StripeError(
        400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name
    )


def missing_parameter(name: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {name}.", code="parameter_missing", param=name
    )


def invalid_integer(name: str, value: Any) -> StripeError:
    return StripeError(
        400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=name
    )


def invalid_boolean(name: str, value: Any) -> StripeError:
    return StripeError(
        400,
        f"Invalid boolean: {value}",
        code="parameter_invalid_empty" if value == "" else None,
        param=name,
    )


def invalid_choice(name: str, value: Any, choices: tuple[str, ...]) -> StripeError:
    listed = ", ".join(choices[:-1]) + (", or " if len(choices) > 2 else " or ") + choices[-1]
    return StripeError(400, f"Invalid {name}: must be one of {listed}", param=name)


def invalid_hash(name: str) -> StripeError:
    return StripeError(400, "Invalid object", param=name)


def invalid_array(name: str) -> StripeError:
    return StripeError(400, "Invalid array", param=name)


def no_such(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404,
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )


def no_api_key() -> StripeError:
    return StripeError(
        401,
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
        "https://stripe.com/docs/api#authentication for details, or we can help at "
        "https://support.stripe.com/.",
    )


def invalid_api_key(key: str) -> StripeError:
    masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key
    return StripeError(401, f"Invalid API Key provided: {masked}")


def publishable_key_not_allowed() -> StripeError:
    return StripeError(
        401,
        "This API call cannot be made with a publishable API key. Please use a secret API key. "
        "You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
        code="secret_key_required",
    )


def state(message: str, *, code: str | None = None, param: str | None = None) -> StripeError:
    """A request that is well-formed but not allowed in the object's current state."""
    return StripeError(400, message, code=code, param=param)


def idempotency_mismatch(key: str) -> StripeError:
    return StripeError(
        400,
        "Keys for idempotent requests can only be used with the same parameters they were first "
        f"used with. Try using a key other than '{key}' if you meant to execute a different "
        "request.",
        type="idempotency_error",
    )


def idempotency_other_endpoint(key: str, first: str, now: str) -> StripeError:
    return StripeError(
        400,
        f"Keys for idempotent requests can only be used for the same endpoint they were first "
        f"used for ('{first}' vs '{now}'). Try using a key other than '{key}' if you meant to "
        "execute a different request.",
        type="idempotency_error",
    )
