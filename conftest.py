"""Settings for every test of the repository, the core's and the plugins'."""

from __future__ import annotations

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on the two cores: each worker, and every CLI process it starts, computes on one
    # thread, since torch's default of one thread per core would put four busy threads on two cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
