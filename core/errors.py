"""The one family of domain errors. Services raise these; the API and the pages map them to responses."""

from typing import Any


class ApplicationError(Exception):
    """A refused request with a machine-readable `code`; `status` is the HTTP status the API answers with."""

    status = 422
    code = "invalid_request"

    def __init__(self, detail: str, *, code: str | None = None, fields: dict[str, Any] | None = None) -> None:
        # A message marked with gettext_lazy becomes text in the language active where it is raised: the request's.
        detail = str(detail)
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.fields = fields or {}


class ConflictError(ApplicationError):
    """The request clashes with the current state (a duplicate, an already settled item): HTTP 409."""

    status = 409
    code = "conflict"


class ValidationFailed(ApplicationError):
    """Input that is well-formed but breaks a business rule: HTTP 422."""

    status = 422
    code = "validation_failed"
