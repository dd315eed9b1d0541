"""Blob key rules and the key layout, shared by every BlobStore adapter."""

from __future__ import annotations

import re

from studiolab.domain.errors import InvalidInput

MAX_KEY_LENGTH = 1024
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")


def check_key(key: str) -> str:
    """Return `key` if it is a safe relative key, else raise InvalidInput.

    The same rules on S3 and on the filesystem, so a key that works locally works on AWS
    and no key can escape the local blob directory."""
    problem = None
    if not key:
        problem = "is empty"
    elif len(key) > MAX_KEY_LENGTH:
        problem = f"is longer than {MAX_KEY_LENGTH} characters"
    elif key.startswith("/") or key.endswith("/"):
        problem = "starts or ends with '/'"
    elif _FORBIDDEN.search(key):
        problem = "contains a control character or backslash"
    elif any(part in ("", ".", "..") for part in key.split("/")):
        problem = "has an empty, '.' or '..' path segment"
    if problem:
        raise InvalidInput(f"blob key {key!r} {problem}", fields={"key": problem})
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: "" (everything) or a key-like string, optionally ending in '/'."""
    if prefix:
        check_key(prefix.rstrip("/") or "/")
    return prefix


# Key layout. The stage prefix routes object-created events (raw/ -> vision handler,
# cutout/ -> palette handler), on AWS by bucket notification filters, locally by wiring.
STAGES = ("raw", "cutout", "thumb", "masks", "exports", "uploads")


def item_key(stage: str, project_id: str, item_id: str, name: str) -> str:
    """`<stage>/<project_id>/<item_id>/<name>`, e.g. raw/pr_1/it_2/image.jpg."""
    if stage not in STAGES:
        raise InvalidInput(f"unknown blob stage {stage!r}")
    return check_key(f"{stage}/{project_id}/{item_id}/{name}")


def parse_item_key(key: str) -> tuple[str, str, str, str]:
    """Inverse of item_key: (stage, project_id, item_id, name); InvalidInput otherwise."""
    parts = check_key(key).split("/")
    if len(parts) != 4 or parts[0] not in STAGES:
        raise InvalidInput(f"{key!r} is not an item blob key (<stage>/<project>/<item>/<name>)")
    return parts[0], parts[1], parts[2], parts[3]


def item_prefix(stage: str, project_id: str, item_id: str) -> str:
    """`<stage>/<project_id>/<item_id>/`: every blob of one item at one stage."""
    return item_key(stage, project_id, item_id, "_")[:-1]
