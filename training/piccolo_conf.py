"""Piccolo's configuration: the engine comes from the settings, looked up lazily (PEP 562)."""

from piccolo.conf.apps import AppRegistry

APP_REGISTRY = AppRegistry(apps=["training.piccolo_app"])


def __getattr__(name: str):
    if name == "DB":
        from training.db import current_engine

        return current_engine()
    raise AttributeError(name)
