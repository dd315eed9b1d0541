"""The colour engine benchmark (`python -m bench.colour.run`, `make bench-colour`).

Importing this package pins every native thread pool to one thread *before* numpy,
onnxruntime, OpenCV or scikit-learn are imported: the speed numbers are one-thread numbers,
and the accuracy passes run one single-threaded worker process per core."""

from __future__ import annotations

import os

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
)
for _name in THREAD_VARIABLES:
    os.environ[_name] = "1"
