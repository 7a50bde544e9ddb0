"""Alembic environment: the tables come from workflow.adapters, never from the web app."""

from __future__ import annotations

import os

from alembic import context

from workflow.adapters.database import make_engine
from workflow.adapters.tables import metadata

config = context.config


def _engine():
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    url = os.environ.get("DATABASE_URL") or "sqlite:///instance/leanlane.sqlite3"
    return make_engine(url)


def run_migrations_offline() -> None:
    url = os.environ.get("DATABASE_URL") or "sqlite:///instance/leanlane.sqlite3"
    context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
