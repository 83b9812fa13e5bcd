"""One exception handler: domain errors and HTTP errors become the JSON error shape under /api
and a page in the user's language elsewhere. Nothing is stack-traced to the user."""

from __future__ import annotations

import logging
from datetime import time
from typing import Any

import msgspec
from litestar import Litestar, MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    ValidationException,
)
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from training.errors import DomainError, ImportRejected
from training.web.auth import API_PREFIX
from training.web.rendering import page, translator

log = logging.getLogger("training.web")

_HTTP_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "validation_failed",
               429: "too_many_requests", 503: "unavailable"}
_HTTP_DETAIL = {400: "请求格式不正确", 401: "请先登录", 403: "您无权执行此操作", 404: "页面或记录不存在",
                405: "不支持该请求方法", 409: "与当前状态冲突", 413: "上传内容过大", 429: "请求过于频繁，请稍后再试",
                500: "服务器内部错误，已记录，请稍后再试", 503: "服务暂不可用"}


class FaultOut(msgspec.Struct):
    row: int
    column: str
    reason: str


class ErrorBody(msgspec.Struct):
    """Every error under /api: ``{"error": code, "detail": text, "fields": {name: message}}`` (and
    ``faults`` for a rejected import)."""

    error: str
    detail: str
    fields: dict[str, str]
    faults: list[FaultOut] | msgspec.UnsetType = msgspec.UNSET


_DOCUMENTED_ERRORS = {400: "Bad input (the field named in fields)", 401: "No or an expired bearer token",
                      403: "Your role may not do this", 404: "No such record, or outside your scope",
                      409: "Conflicts with the current state (a rule, or a stale lock_version)",
                      422: "Validation failed (fields name each field; faults for a rejected import)",
                      503: "A dependency (LibreOffice) is unavailable"}


def _time_as_clock_string() -> None:
    """Litestar describes ``datetime.time`` as an ISO 8601 *duration*; it is a clock time ("09:00:00")."""
    from litestar._openapi.schema_generation.schema import TYPE_MAP
    from litestar.openapi.spec import OpenAPIType, Schema

    TYPE_MAP[time] = Schema(type=OpenAPIType.STRING, pattern=r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
                            description="clock time HH:MM:SS (China time)")


def document_errors(app: Litestar) -> None:
    """Declare the real error shape for every /api operation in the OpenAPI (instead of Litestar's default
    ``{status_code, detail, extra}``), so clients and the schema fuzzing see what is actually answered."""
    from litestar.openapi.datastructures import ResponseSpec
    from litestar.routes import HTTPRoute

    _time_as_clock_string()
    specs = {status: ResponseSpec(data_container=ErrorBody, description=text, generate_examples=False)
             for status, text in _DOCUMENTED_ERRORS.items()}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(API_PREFIX):
            continue
        for handler in route.route_handlers:
            handler.responses = {**specs, **(handler.responses or {})}


def error_body(code: str, detail: str, fields: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, "fields": fields or {}, **extra}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _validation_fields(exc: ValidationException) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "body")
            fields[key] = str(item.get("message", "无效"))
    return fields


def _is_data_error(exc: Exception) -> bool:
    """A value the database cannot hold or compare (an integer beyond 64 bits on SQLite, beyond the column
    on PostgreSQL, a NUL character in text): the request's input is at fault, not the server."""
    if isinstance(exc, OverflowError):
        return True
    try:
        from asyncpg.exceptions import DataError
    except ImportError:  # pragma: no cover - asyncpg is installed with the PostgreSQL extra
        return False
    return isinstance(exc, DataError)


def handle(request: Request, exc: Exception) -> Response:
    _ = translator(request)
    extra: dict[str, Any] = {}
    if _is_data_error(exc):
        log.warning("out-of-range input on %s %s: %s", request.method, request.url.path, exc)
        status, code, detail, fields = 400, "bad_request", _("请求中的数值超出范围或含有不可用的字符"), {}
    elif isinstance(exc, DomainError):
        status, code, detail, fields = exc.status_code, exc.code, _(exc.detail), {
            k: _(v) for k, v in exc.fields.items()
        }
        if isinstance(exc, ImportRejected):
            extra["faults"] = [{"row": f.row, "column": f.column, "reason": _(f.reason)} for f in exc.faults]
    elif isinstance(exc, ValidationException):
        status, code = 400, "bad_request"
        fields = _validation_fields(exc)
        detail = _("请求格式不正确") if not fields else _("请求中的字段无效")
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        code = _HTTP_CODES.get(status, "error")
        detail = _(exc.detail) if isinstance(exc, NotAuthorizedException) and exc.detail else _(
            _HTTP_DETAIL.get(status, "请求失败"))
        fields = {}
    else:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        status, code, detail, fields = HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", _(
            _HTTP_DETAIL[500]), {}
    if _is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return Response(error_body(code, detail, fields, **extra), status_code=status,
                        media_type=MediaType.JSON, headers=headers)
    if status == 401:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return Redirect(f"/login?next={target}")
    return page(request, "error.html", status_code=status, code=code, detail=detail,
                fields=fields, faults=extra.get("faults", []))
