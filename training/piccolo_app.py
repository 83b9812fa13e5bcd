"""Piccolo app registration: the tables and where their migrations live."""

import os

from piccolo.conf.apps import AppConfig

from training.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="training",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
