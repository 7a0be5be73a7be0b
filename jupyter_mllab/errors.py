"""The one error type of jupyter_mllab, and its few subclasses.

Services raise these; the base handler turns them into JSON ``{"message", "reason"}``
with the error's HTTP status. Nothing here imports tornado, so the kernel client and
the services can raise them too.
"""

from __future__ import annotations


class MLLabError(Exception):
    """An error a person can act on: an HTTP status, a message and a short reason code."""

    status: int = 500
    reason: str = "error"

    def __init__(self, message: str, *, reason: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        if status is not None:
            self.status = status

    def to_json(self) -> dict[str, str]:
        return {"message": self.message, "reason": self.reason}


class BadRequest(MLLabError):
    status = 400
    reason = "bad_request"


class NotFound(MLLabError):
    status = 404
    reason = "not_found"


class Conflict(MLLabError):
    status = 409
    reason = "conflict"


class PayloadTooLarge(MLLabError):
    status = 413
    reason = "too_large"


class Unavailable(MLLabError):
    status = 503
    reason = "unavailable"
