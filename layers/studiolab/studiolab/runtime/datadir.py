"""The local data directory: a format marker, an exclusive lock for `studiolab up`, and the
paths inside. A foreign or corrupt directory is refused before anything is written."""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from studiolab.domain.errors import AlreadyRunning, DataDirError

MARKER = "studiolab.json"
FORMAT = 1


@dataclass
class DataDir:
    root: Path
    _lock_handle: IO[str] | None = field(default=None, repr=False)

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def blobs_path(self) -> Path:
        return self.root / "blobs"

    @property
    def secret_path(self) -> Path:
        return self.root / "secret.key"

    @property
    def lock_path(self) -> Path:
        return self.root / "up.lock"

    def prepare(self) -> DataDir:
        """Create the directory (or check an existing one) and its marker."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise DataDirError(f"data dir {root} exists and is not a directory")
        marker = root / MARKER
        if root.is_dir() and any(root.iterdir()) and not marker.exists():
            raise DataDirError(
                f"{root} is not empty and has no {MARKER}: not a studiolab data dir; "
                "refusing to write into it (choose another --data-dir)"
            )
        if marker.exists():
            try:
                document = json.loads(marker.read_text("utf-8"))
                version = document["format"]
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise DataDirError(f"{marker} is unreadable or corrupt: {error}") from error
            if version != FORMAT:
                raise DataDirError(
                    f"{root} has data format {version}; this studiolab reads format {FORMAT}"
                )
        else:
            try:
                root.mkdir(parents=True, exist_ok=True)
                temporary = marker.with_suffix(".tmp")
                temporary.write_text(json.dumps({"format": FORMAT}) + "\n", "utf-8")
                temporary.replace(marker)
            except OSError as error:
                raise DataDirError(f"cannot create data dir {root}: {error}") from error
        self.blobs_path.mkdir(exist_ok=True)
        return self

    def lock(self) -> None:
        """Exclusive, non-blocking; released by the OS if the process dies (even SIGKILL)."""
        handle = self.lock_path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise AlreadyRunning(
                f"studiolab is already running on {self.root} (pid {holder}); "
                "stop it first or use another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_handle = handle

    def unlock(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.truncate(0)
            fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None
