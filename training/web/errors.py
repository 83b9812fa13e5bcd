"""One exception handler: domain errors and HTTP errors become the JSON error shape under /api
and a page in the user's language elsewhere. Nothing is stack-traced to the user."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
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


def handle(request: Request, exc: Exception) -> Response:
    _ = translator(request)
    extra: dict[str, Any] = {}
    if isinstance(exc, DomainError):
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
