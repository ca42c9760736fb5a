"""Typed errors. Each carries an HTTP status and a message that is safe to show a user.

They are turned into responses in one place (``geo_app.web.errors``) and into
``click.ClickException`` in the CLI (``geo_app.cli``).
"""

from __future__ import annotations

from typing import Any


class GeoAppError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class NotFound(GeoAppError):
    status_code = 404
    code = "not_found"


class Conflict(GeoAppError):
    status_code = 409
    code = "conflict"


class ValidationError(GeoAppError):
    """Input that cannot be accepted; ``details`` names rows/fields."""

    status_code = 400
    code = "invalid_input"


class BoundarySourceError(GeoAppError):
    """The boundary source (URL or folder) cannot be read."""

    status_code = 502
    code = "boundary_source"


class InputFileError(ValidationError):
    """A file given by the user is missing, unreadable or not what it claims to be."""

    code = "input_file"


class TooLarge(InputFileError):
    """A file beyond a size limit (rows, columns, unpacked size): 413, like a too large upload."""

    status_code = 413
    code = "too_large"


class BoundariesMissing(GeoAppError):
    status_code = 503
    code = "boundaries_missing"


class RecordInvalid(ValidationError):
    """A record failed validation; ``details`` maps each bad field to its reason."""

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        summary = "; ".join(f"{field}: {reason}" for field, reason in errors.items())
        super().__init__(message or f"data tidak valid / invalid input: {summary}", details=errors)
        self.errors = errors


class AssetMissing(GeoAppError):
    """A front-end file (JS/CSS) the maps need is not installed; the message names the set-up command."""

    status_code = 500
    code = "asset_missing"


class Unauthorized(GeoAppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(GeoAppError):
    status_code = 403
    code = "forbidden"


class TooManyAttempts(GeoAppError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class LayersBuildFailed(GeoAppError):
    """``geo-app layers build`` could not write its output (the previous output is left as it was)."""

    status_code = 500
    code = "layers_build_failed"


class SchemaVersionError(GeoAppError):
    """The database schema is not at this code's migration head and the app will not change it at start
    (``AUTO_UPGRADE`` off, or a revision this code does not know); the message names both revisions."""

    status_code = 503
    code = "schema_version"
