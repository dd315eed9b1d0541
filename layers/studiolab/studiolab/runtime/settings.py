"""Typed settings from the environment (prefix STUDIOLAB_), validated once at start-up.

A bad value stops start-up with ConfigError naming the environment variable."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from studiolab.domain.errors import ConfigError

ENV_PREFIX = "STUDIOLAB_"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_ORIGIN = re.compile(
    r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    mode: Literal["local", "aws"] = "local"
    # local mode
    data_dir: Path = Path(".studiolab")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = None  # base of signed blob URLs; default http://host:port
    workers: int = Field(default=2, ge=0, le=64)
    # API requests run through the app at once (more wait, first come first served): see
    # runtime/server.py FifoGate for why a few beat one thread per connection
    api_concurrency: int = Field(default=4, ge=1, le=256)
    web_dir: Path | None = None  # static UI; default: the repo's web/ folder
    # Bearer token of the local API; required when `host` is not a loopback address.
    token: SecretStr | None = None
    # aws mode (names handed over by CDK through the Lambda environment)
    table_name: str | None = None
    bucket_name: str | None = None
    region: str | None = None
    functions: dict[str, str] = Field(default_factory=dict)  # job topic -> Lambda name
    state_machines: dict[str, str] = Field(default_factory=dict)  # machine name -> ARN
    # both
    attributes_file: Path | None = None
    models_dir: Path | None = None  # ONNX weights; default $U2NET_HOME, else <repo>/models
    segment_model: Literal["u2netp", "u2net", "grabcut", "none"] = "u2netp"
    max_colors: int = Field(default=5, ge=1, le=12)
    signed_url_ttl_s: int = Field(default=3600, ge=1, le=604_800)
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # crawling (services/crawl_engine.py, services/runs.py)
    crawl_allow_hosts: list[str] = Field(default_factory=list)  # SSRF allow-list (demo shop)
    crawl_batch_pages: int = Field(default=20, ge=1, le=1000)
    crawl_batch_images: int = Field(default=100, ge=1, le=1000)
    crawl_iteration_limit: int = Field(default=25, ge=1, le=1000)  # then continue-as-new
    crawl_max_depth: int = Field(default=3, ge=0, le=50)  # on-site links from the start URLs
    # Extraction worker processes (services/crawl_extract.py): unset = one per core in local
    # mode with 2+ cores, none in aws mode (Lambda has no /dev/shm); 0 = in the crawl thread.
    extract_processes: int | None = Field(default=None, ge=0, le=64)
    reconcile_interval_s: float = Field(default=5.0, gt=0)
    # API: browser origins allowed to call it (CORS): exact origins, comma-separated or as a
    # JSON list of strings
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # API: where /docs loads the Swagger UI files from (absolute http(s) URL; set by CDK to the
    # web UI's CloudFront copy of web/vendor/swagger-ui); unset: next to the page (local)
    swagger_ui_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except ValueError as error:
                raise ValueError(f"not a JSON list of origins: {error}") from None
        elif isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            return value
        origins = []
        for raw in value:
            origin = str(raw).strip().rstrip("/").lower()
            if not _ORIGIN.match(origin):
                raise ValueError(
                    f"{raw!r} is not an origin: give scheme://host[:port], e.g. "
                    "https://d111111abcdef8.cloudfront.net (no path, no wildcard)"
                )
            origins.append(origin)
        return origins

    @model_validator(mode="after")
    def _aws_needs_names(self) -> Settings:
        if self.mode == "aws":
            missing = [
                f"{ENV_PREFIX}{name.upper()}"
                for name in ("table_name", "bucket_name")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"mode 'aws' needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _public_bind_needs_token(self) -> Settings:
        if self.mode == "local" and self.host not in LOOPBACK_HOSTS and self.token is None:
            raise ValueError(
                f"binding {self.host!r} (not a loopback address) needs {ENV_PREFIX}TOKEN; "
                "every API request then carries 'Authorization: Bearer <token>'"
            )
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            raise ValueError(f"{ENV_PREFIX}TOKEN must be at least 16 characters")
        return self

    @property
    def cors_origin_set(self) -> frozenset[str]:
        return frozenset(self.cors_origins)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            name = ".".join(str(part) for part in item["loc"])
            label = f"{ENV_PREFIX}{name.upper()}" if name else "settings"
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{label}: {message}")
        raise ConfigError("invalid settings - " + "; ".join(problems)) from error


@lru_cache(maxsize=1)
def settings_from_env() -> Settings:
    """Process-wide settings for Lambda handlers (cold start)."""
    return load_settings()
