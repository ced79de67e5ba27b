"""How core errors become HTTP answers: located Chinese messages, never a 500 with a traceback.

HuiqiError → 422 ``{"detail": [{"loc": [...], "msg": "中文…"}]}``; StateError → 409;
NotFoundError → 404. Pages get the same message rendered in the error template.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from huiqi.errors import HuiqiError, NotFoundError, StateError

log = logging.getLogger("huiqi.web")

_PYDANTIC_MESSAGES = {
    "missing": "缺少必填项",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是/否",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "json_invalid": "不是合法的 JSON",
    "model_attributes_type": "应为对象",
    "extra_forbidden": "不认识的字段",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "string_too_long": "文本过长",
    "string_too_short": "文本过短",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "greater_than": "数值过小",
    "less_than": "数值过大",
    "value_error": "取值无效",
    "int_from_float": "应为整数",
}


def error_detail(exc: HuiqiError) -> list[dict[str, Any]]:
    loc: list[Any] = ["body"]
    if exc.file:
        loc.append(exc.file)
    if exc.line is not None:
        loc.append(exc.line)
    if exc.clause:
        loc.append(exc.clause)
    if exc.field:
        loc.append(exc.field)
    return [{"loc": loc, "msg": str(exc), "type": type(exc).__name__}]


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/healthz")) and "text/html" in request.headers.get(
        "accept", ""
    )


def _page(request: Request, status: int, title: str, messages: list[str]) -> Response:
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "title": title, "messages": messages}, status_code=status
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(HuiqiError)
    async def huiqi_error(request: Request, exc: HuiqiError) -> Response:
        status = 409 if isinstance(exc, StateError) else 404 if isinstance(exc, NotFoundError) else 422
        if request.headers.get("hx-request"):
            return HTMLResponse(f'<p class="error" role="alert">{_escape(str(exc))}</p>', status_code=200)
        if _wants_html(request):
            return _page(request, status, "无法完成请求", [str(exc)])
        return JSONResponse({"detail": error_detail(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        detail = [
            {"loc": list(e.get("loc", ())), "msg": _PYDANTIC_MESSAGES.get(e.get("type", ""), "取值无效"),
             "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if _wants_html(request):
            return _page(request, 422, "输入有误", [f"{'/'.join(map(str, d['loc']))}:{d['msg']}" for d in detail])
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "请求无法完成"
        if exc.status_code == 404 and message == "Not Found":
            message = "页面或资源不存在"
        elif exc.status_code == 405:
            message = "不支持该请求方法"
        if exc.status_code == 401 and _wants_html(request):
            from fastapi.responses import RedirectResponse

            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if _wants_html(request):
            return _page(request, exc.status_code, "无法完成请求", [message])
        return JSONResponse({"detail": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "服务器内部错误,已记录日志"}, status_code=500)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
