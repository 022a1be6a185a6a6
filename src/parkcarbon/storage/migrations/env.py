"""Alembic environment of the parkcarbon store.

Run by :meth:`parkcarbon.storage.engine.Store.upgrade` with an open connection in
``config.attributes["connection"]``; from the command line,
``alembic -c <any ini with script_location = src/parkcarbon/storage/migrations> -x url=sqlite:///x.sqlite upgrade head``.
SQLite uses batch mode (``render_as_batch``) so that ALTERs work on both backends.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from parkcarbon.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(str(url))
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def run_migrations_offline() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
