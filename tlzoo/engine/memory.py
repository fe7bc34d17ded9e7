"""Handing memory back to the system once training is over, so the rest of a run does not add to its peak."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc


def release_heap() -> None:
    """Collect garbage, then return the freed heap to the system (glibc's ``malloc_trim``).

    glibc keeps freed blocks below its mmap threshold (which grows up to 32 MB as tensors come and go) in
    the process: without the trim, the resident size after training stays at its training peak and the
    final evaluation, plots and model writing stack their memory on top of it. A no-op without glibc.
    """
    gc.collect()
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
