"""ASGI entry point for multi-worker servers (``uvicorn training.web.asgi:app``)."""

from training.web.app import create_app

app = create_app()
