"""The stack's context keys, parsed once.

Values come from cdk.json (JSON: booleans, numbers, lists) or from `cdk ... -c key=value`,
which the CLI passes as strings ("false", "10", "https://a,https://b"): both spellings must
mean the same thing, so nothing here relies on Python truthiness."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PREFIX = "studiolab:"
DEFAULT_ORIGINS = ("http://localhost:8000",)
# Enough for a crawl's burst (vision ~3 s per image: ~3 images/s at 10) without letting an
# S3 event storm take the account's whole pool; needs an account concurrency quota >= 120
# (Lambda keeps 100 unreserved). "none" turns reservation off (new accounts, quota 10).
DEFAULT_IMAGE_CONCURRENCY = 10
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_NONE = {"", "none", "null", "off", "false", "0"}


class ContextError(ValueError):
    """A context value that cannot mean anything sensible: synth stops with the key's name."""


def flag(key: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ContextError(f"{PREFIX}{key}: expected true or false, got {value!r}")


def string_list(key: str, value: Any, default: tuple[str, ...]) -> list[str]:
    if value is None:
        return list(default)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ContextError(f"{PREFIX}{key}: expected a list of strings, got {value!r}")


def optional_count(key: str, value: Any, default: int | None) -> int | None:
    """A positive integer, or None for "not set" ("none", 0, false: Lambda's reserved
    concurrency 0 would throttle every invocation, never what one means)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return default if value else None
    if isinstance(value, str) and value.strip().lower() in _NONE:
        return None
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ContextError(f"{PREFIX}{key}: expected a positive integer or none") from None
    if count < 0:
        raise ContextError(f"{PREFIX}{key}: expected a positive integer or none, got {count}")
    return count or None


def log_level(key: str, value: Any) -> str:
    level = "INFO" if value is None else str(value).strip().upper()
    level = "WARNING" if level == "WARN" else level
    if level not in LOG_LEVELS:
        raise ContextError(f"{PREFIX}{key}: expected one of {', '.join(LOG_LEVELS)}")
    return level


def optional_text(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


@dataclass(frozen=True)
class Settings:
    deletion_protection: bool
    cors_allowed_origins: list[str]
    image_reserved_concurrency: int | None
    log_level: str
    cognito_domain_prefix: str | None
    alarm_email: str | None

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> Settings:
        """`get` is `node.try_get_context`."""

        def value(key: str) -> Any:
            return get(PREFIX + key)

        return cls(
            deletion_protection=flag("deletionProtection", value("deletionProtection"), True),
            cors_allowed_origins=string_list(
                "corsAllowedOrigins", value("corsAllowedOrigins"), DEFAULT_ORIGINS
            ),
            image_reserved_concurrency=optional_count(
                "imageReservedConcurrency",
                value("imageReservedConcurrency"),
                DEFAULT_IMAGE_CONCURRENCY,
            ),
            log_level=log_level("logLevel", value("logLevel")),
            cognito_domain_prefix=optional_text(value("cognitoDomainPrefix")),
            alarm_email=optional_text(value("alarmEmail")),
        )
