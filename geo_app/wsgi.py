"""The WSGI application for a production server: ``gunicorn geo_app.wsgi:app`` (what ``geo-app serve``
runs). The app is created when a server imports this module, in each worker process; importing
``geo_app`` itself creates nothing. Settings come from the ``GEO_APP_*`` environment, as for the CLI."""

from __future__ import annotations

import os

from flask import Response

from . import create_app

app = create_app()

if app.config.get("WORKER_PID_HEADER"):

    @app.after_request
    def _worker_pid(response: Response) -> Response:
        """Which worker answered (tests show that a write through one worker is seen by another)."""
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response
