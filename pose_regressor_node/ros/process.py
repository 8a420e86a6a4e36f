"""Process-wide settings for a node that handles one camera frame at a time on a few cores.

Both are process state by nature (the C allocator, OpenCV's thread pool), so they are set once,
from the nodes' ``main`` (``spin.spin_node``) and from the node benchmark, never from a library
call.

- Keep freed image-sized blocks: glibc serves blocks above its mmap threshold (128 KiB at
  start-up) with fresh mappings and trims the heap top once a little memory is free there, so
  each ~1 MB frame page-faults its buffers in again on every message (the middleware's copy, the
  Python message, the decoded image). Page faults are dear in a virtual machine and on a Jetson
  alike: on the 2-core development VM an in-process 640x480 rgb8 delivery took 2.1-2.6 ms with the
  defaults and 0.63-0.74 ms with fixed thresholds. The price: up to ``trim_threshold`` of freed
  memory stays mapped.
- OpenCV on one thread: the inference engine already owns every core; OpenCV's pool only contends
  with it (the 420 -> 224 area resize took 1.57 ms on two threads, 1.21 ms on one).
"""

from __future__ import annotations

import ctypes
import os

import cv2

__all__ = ["configure_process", "retain_freed_memory"]

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters
_ENV_TUNING = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def retain_freed_memory(mmap_threshold: int = 16 << 20, trim_threshold: int = 32 << 20,
                        top_pad: int = 8 << 20) -> bool:
    """Fix glibc's malloc thresholds for this process; True if they were set.

    Does nothing (False) off glibc, or where the user tuned malloc through its environment
    variables already: an explicit choice wins over this default.
    """
    if any(name in os.environ for name in _ENV_TUNING):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): its allocator behaves differently
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    settings = ((_M_MMAP_THRESHOLD, mmap_threshold), (_M_TRIM_THRESHOLD, trim_threshold), (_M_TOP_PAD, top_pad))
    return all(mallopt(param, value) == 1 for param, value in settings)


def configure_process() -> None:
    retain_freed_memory()
    cv2.setNumThreads(1)
