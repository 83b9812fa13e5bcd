"""``create_app(settings)``: the Litestar application, pages and /api/v1, built on demand."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from piccolo.engine.base import Engine

from training import db
from training.services import storage
from training.settings import PROJECT_ROOT, Settings
from training.web import filters
from training.web.auth import AuthMiddleware, provide_actor
from training.web.controllers import collect_routes
from training.web.errors import document_errors, handle
from training.web.i18n import load_catalogues

TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = Path(__file__).parent / "static"
PUBLIC_PATHS = ["^/static/", "^/healthz$", "^/schema", "^/login$", "^/lang/", "^/verify",
                "^/institutions$", "^/api/v1/auth/token$", "^/api/v1/verify/", "^/favicon.ico$"]


def _jinja_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters.install(env)
    return env


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> Litestar:
    """Build the application. ``engine``: an already-started engine to share (tests); otherwise one
    is made from the settings and started and stopped with the application."""
    settings = settings or Settings.from_env()
    storage.configure(settings.files_dir)
    owns_engine = engine is None
    if engine is None:
        engine = db.bind(settings)
    else:
        db.use(engine)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if owns_engine:
            await db.start(engine)
        scheduler = None
        if settings.scheduler_enabled:
            from training.jobs import start_scheduler

            scheduler = await start_scheduler(settings)
        try:
            yield
        finally:
            if scheduler is not None:
                from training.jobs import release_scheduler

                scheduler.shutdown(wait=False)
                await release_scheduler()
            if owns_engine:
                await db.stop(engine)

    logging.getLogger("training").setLevel(logging.DEBUG if settings.debug else logging.INFO)
    app = Litestar(
        route_handlers=[*collect_routes(), create_static_files_router(path="/static", directories=[STATIC_DIR],
                                                                    opt={"exclude_from_auth": True},
                                                                    include_in_schema=False)],
        middleware=[DefineMiddleware(AuthMiddleware, exclude=PUBLIC_PATHS)],
        dependencies={"actor": Provide(provide_actor)},
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="strict",
            # The API authenticates by bearer token only, never by cookie: no CSRF exposure.
            exclude=["^/api/"],
        ),
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(_jinja_environment())),
        openapi_config=OpenAPIConfig(
            title="数字技术工程师培育项目管理系统 API",
            version="1.0.0",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
            components=Components(security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", description="POST /api/v1/auth/token"),
            }),
            security=[{"BearerToken": []}],
        ),
        exception_handlers={Exception: handle},
        lifespan=[lifespan],
        state=State({"settings": settings, "catalogues": load_catalogues()}),
        debug=False,
        request_max_body_size=200 * 1024 * 1024,
    )
    document_errors(app)
    return app
