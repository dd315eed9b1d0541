"""The one error hierarchy. Every layer raises these; the API maps them to HTTP in one place
(`http_status`), the CLI to exit codes and JSON error objects (`code`, `message`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class StudiolabError(Exception):
    """Base of every error studiolab raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, str] = dict(fields or {})

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = dict(self.fields)
        return body


class InvalidInput(StudiolabError):
    """A request or model failed validation; `fields` maps each field path to its problem."""

    code = "invalid_input"
    http_status = 400


class NotFound(StudiolabError):
    code = "not_found"
    http_status = 404


class Conflict(StudiolabError):
    """The request contradicts the current state (a run already running, a name taken...)."""

    code = "conflict"
    http_status = 409


class ConcurrentUpdate(Conflict):
    """A conditional write lost a race: someone changed the record first. Re-read and retry."""

    code = "concurrent_update"


class IllegalTransition(Conflict):
    """A status change the state machine forbids (e.g. SUCCEEDED -> RUNNING)."""

    code = "illegal_transition"


class Forbidden(StudiolabError):
    """Bad, tampered or expired signature; missing rights."""

    code = "forbidden"
    http_status = 403


class PayloadTooLarge(StudiolabError):
    code = "payload_too_large"
    http_status = 413


class Unprocessable(StudiolabError):
    code = "unprocessable"
    http_status = 422


class ConfigError(StudiolabError):
    """Settings from the environment are missing or invalid. Raised at start-up."""

    code = "config_error"


class DataDirError(StudiolabError):
    """The data directory is corrupt, foreign, from another version, or not writable."""

    code = "data_dir_error"


class AlreadyRunning(StudiolabError):
    """Another `studiolab up` holds the data directory."""

    code = "already_running"
    http_status = 409


class BackendError(StudiolabError):
    """A storage backend failed in a way the caller cannot fix (retry later)."""

    code = "backend_error"
    http_status = 503


class ModelMissing(ConfigError):
    """Model weights are not in the models directory (they are fetched at set-up time)."""

    code = "model_missing"


class ImageError(Unprocessable):
    """An input image that cannot be used. Subclasses name why."""

    code = "bad_image"


class EmptyImage(ImageError):
    code = "empty_file"


class NotAnImage(ImageError):
    code = "not_an_image"


class TruncatedImage(ImageError):
    code = "truncated_image"


class ImageTooLarge(ImageError):
    """Over the pixel limit (a decompression bomb, or simply too big)."""

    code = "image_too_large"


class UnsupportedImage(ImageError):
    code = "unsupported_image"


class NoGarmentPixels(ImageError):
    """Nothing opaque is left after background removal and exclusions."""

    code = "no_garment_pixels"
