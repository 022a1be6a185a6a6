"""parkcarbon.api — the REST API of the platform (FastAPI, versioned ``/api/v1``, OpenAPI 3.1).

::

    from parkcarbon.api import create_app
    from parkcarbon.storage import open_store

    app = create_app(open_store())          # or: parkcarbon serve [--database-url postgresql://…]
    # OpenAPI: GET /api/v1/openapi.json; interactive docs: /api/v1/docs

Modules: :mod:`~parkcarbon.api.app` (factory, problem+json errors, body-size limit),
:mod:`~parkcarbon.api.security` (sessions, CSRF, API tokens, the caller's scope — reused by
the web dashboard), :mod:`~parkcarbon.api.schemas` (request/response bodies, unknown fields
refused), :mod:`~parkcarbon.api.routes` (thin handlers over :mod:`parkcarbon.services`).
See ``docs/api.md``.
"""

from parkcarbon.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
