"""``connector serve``: the HTTP API through which SOAR platforms run actions and playbooks.

:mod:`~connector.server.app` holds the routes, :mod:`~connector.server.auth` the bearer token,
:mod:`~connector.server.limits` the body size limit, :mod:`~connector.server.bodies` the request
bodies, :mod:`~connector.server.answers` what is answered and :mod:`~connector.server.listen` the
socket and uvicorn.
"""

from connector.server.app import ServerSettings, create_app

__all__ = ["ServerSettings", "create_app"]
