"""Lock the domain layer's third-party dependencies: `python -m infra.lock_layer`.

Resolves the layer's pins (pyproject.toml, selected by infra/constructs/layer_deps.py) with all
their transitive dependencies for CPython 3.12 manylinux2014_x86_64 - what Lambda python3.12
runs - and writes infra/layer-requirements.lock (commit it). Needs PyPI; resolves afresh, so
unpinned transitive dependencies move to their newest compatible versions.

`python -m infra.lock_layer --check` only says whether the lock still matches the pins
(offline; exit status 1 and the reasons when it does not)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.constructs.layer_deps import (
    LOCK_COMMAND,
    LOCK_FILE,
    LayerBuildError,
    layer_pins,
    lock_problems,
    read_lock,
    render_lock,
    resolve_lock,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=LOCK_COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify only (no network)")
    parser.add_argument("--lock", type=Path, default=LOCK_FILE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    pins = layer_pins(lock=None)
    lock: Path = args.lock

    if args.check:
        problems = lock_problems(pins, read_lock(lock)) if lock.is_file() else ["it is missing"]
        if problems:
            print(f"{lock.name} is out of date: {'; '.join(problems)}", file=sys.stderr)
            print(f"re-lock with `{LOCK_COMMAND}`", file=sys.stderr)
            return 1
        print(f"{lock.name} matches the layer's pins (inputs {pins.inputs_digest})")
        return 0

    try:
        requirements = resolve_lock(pins)
    except LayerBuildError as error:
        print(error, file=sys.stderr)
        return 1
    partial = lock.with_name(f".{lock.name}.{os.getpid()}")
    partial.write_text(render_lock(pins, requirements))
    partial.replace(lock)
    print(f"wrote {lock}: {len(requirements)} packages (inputs {pins.inputs_digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
