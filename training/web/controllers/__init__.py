"""Every route handler of the application, pages and /api/v1."""

from training.web.controllers.api_reference import AuthApiController, ReferenceApiController
from training.web.controllers.home import HomeController, SystemController

ROUTE_HANDLERS: list = [HomeController, SystemController, AuthApiController, ReferenceApiController]
