"""The one hierarchy of application errors; the web layer maps each to a page or JSON answer.

Messages are written in Chinese (the service's source language) and translated for other
locales through the gettext catalogue at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, fields: dict[str, str] | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = dict(fields or {})
        if code:
            self.code = code


class BadInput(DomainError):
    status_code = 400
    code = "bad_request"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    """Also the answer for records outside the actor's scope: existence is not disclosed."""

    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """A rule or the record's current state forbids the change, or someone saved first."""

    status_code = 409
    code = "conflict"


class StaleVersion(Conflict):
    code = "stale_version"


class Invalid(DomainError):
    status_code = 422
    code = "validation_failed"


class Unavailable(DomainError):
    status_code = 503
    code = "unavailable"


@dataclass(frozen=True, slots=True)
class RowFault:
    row: int
    column: str
    reason: str


class ImportRejected(DomainError):
    """An all-or-nothing import found faults; nothing was written."""

    status_code = 422
    code = "import_rejected"

    def __init__(self, faults: list[RowFault]) -> None:
        super().__init__(f"导入失败：发现 {len(faults)} 处错误，未写入任何数据")
        self.faults = list(faults)
