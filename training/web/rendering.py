"""Rendering pages: the common context every template gets (actor, language, gettext, CSRF)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from training.rules import levels
from training.web.i18n import LANGUAGES, Catalogues, pick_language

LANG_COOKIE = "lang"


def language_of(request: Request) -> str:
    settings = request.app.state.settings
    return pick_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"),
                         settings.locale)


def translator(request: Request):
    catalogues: Catalogues = request.app.state.catalogues
    return catalogues.gettext(language_of(request))


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    actor = request.scope.get("user")
    lang = language_of(request)
    gettext = translator(request)
    return Template(
        template_name=template,
        status_code=status_code,
        context={
            "actor": actor,
            "lang": lang,
            "languages": LANGUAGES,
            "_": gettext,
            "vocab": levels,
            "path": request.url.path,
            **context,
        },
    )
