"""`parkcarbon serve` (run the REST API and dashboard) and `parkcarbon users` (bootstrap accounts).

Examples::

    parkcarbon serve                                   # embedded SQLite store, http://127.0.0.1:8000
    parkcarbon serve --database-url postgresql://parkcarbon_app@127.0.0.1/park --host 0.0.0.0
    parkcarbon serve --provision-app-role parkcarbon_app   # as the owner: create the RLS app role, exit
    parkcarbon users create root --platform-admin       # password from PARKCARBON_NEW_PASSWORD or a prompt

``--insecure-cookies`` drops the ``Secure`` flag of the session cookie for plain-HTTP
development on loopback only; behind TLS never use it.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

__all__ = ["register"]

users_app = typer.Typer(help="Accounts 账户管理.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``users`` group to ``app``."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    database_url: Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (default: settings)")] = None,
    workers: Annotated[int, typer.Option(help="worker processes (SQLite: WAL readers, one writer at a time)")] = 1,
    insecure_cookies: Annotated[bool, typer.Option(help="no Secure flag on the session cookie (HTTP dev only)")] = False,
    provision_app_role: Annotated[str | None, typer.Option(help="create the non-owner PostgreSQL role and exit")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Start the REST API (``/api/v1``, OpenAPI at ``/api/v1/docs``) on the store."""
    import uvicorn

    from parkcarbon.api import create_app
    from parkcarbon.services.tenancy import provision_app_role as provision
    from parkcarbon.settings import get_settings
    from parkcarbon.storage import open_store

    settings = get_settings(**({"database_url": database_url} if database_url else {}))
    store = open_store(settings.database_url, settings=settings)
    if provision_app_role:
        provision(store, provision_app_role, os.environ.get("PARKCARBON_APP_ROLE_PASSWORD"))
        typer.echo(f"role {provision_app_role} ready (non-owner, NOBYPASSRLS)")
        store.dispose()
        return
    if workers > 1:
        store.dispose()
        os.environ["PARKCARBON_DATABASE_URL"] = settings.database_url
        os.environ["PARKCARBON_INSECURE_COOKIES"] = "1" if insecure_cookies else "0"
        uvicorn.run("parkcarbon.cli.serve:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level)
        return
    app = create_app(store, settings=settings, cookie_secure=not insecure_cookies)  # mounts the dashboard too
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def app_from_env() -> object:
    """App factory for multi-worker uvicorn (each worker opens its own store)."""
    from parkcarbon.api import create_app
    from parkcarbon.settings import get_settings
    from parkcarbon.storage import open_store

    settings = get_settings()
    return create_app(open_store(settings.database_url, settings=settings), settings=settings,
                      cookie_secure=os.environ.get("PARKCARBON_INSECURE_COOKIES") != "1")


@users_app.command("create")
def create_user(
    username: str,
    platform_admin: Annotated[bool, typer.Option(help="grant the platform_admin role")] = False,
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """Create an account (the first platform administrator, typically)."""
    from parkcarbon.services.auth import create_user as create
    from parkcarbon.services.scoped import grant_role
    from parkcarbon.services.tenancy import scoped_transaction, system_scope
    from parkcarbon.settings import get_settings
    from parkcarbon.storage import open_store

    password = os.environ.get("PARKCARBON_NEW_PASSWORD") or typer.prompt("password", hide_input=True,
                                                                          confirmation_prompt=True)
    settings = get_settings(**({"database_url": database_url} if database_url else {}))
    store = open_store(settings.database_url, settings=settings)
    try:
        with scoped_transaction(store, system_scope("cli")) as repo:
            user = create(repo.session, username=username, password=password, actor="cli")
            if platform_admin:
                grant_role(repo, system_scope("cli"), user.id, role="platform_admin", park_id=None, enterprise_id=None)
        typer.echo(f"user {username} created ({user.id})")
    finally:
        store.dispose()
