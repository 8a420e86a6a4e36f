"""Outputs that appear whole or not at all.

A report folder that an interrupted run left half written, or a previous run's plots mixed with
this run's, would be read as results. Writers fill a temporary sibling folder and rename it into
place only when they finish; a bag written by a command is reused only when the completion
marker written after its last message is there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_directory", "mark_complete", "is_complete", "COMPLETE_MARKER"]

COMPLETE_MARKER = "COMPLETE"


@contextlib.contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """Yields an empty temporary folder beside ``path``; when the block ends without an exception it
    replaces ``path`` (whose old contents are removed), otherwise it is deleted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def mark_complete(folder: Path) -> None:
    (Path(folder) / COMPLETE_MARKER).write_text("written completely\n")


def is_complete(folder: Path) -> bool:
    return (Path(folder) / COMPLETE_MARKER).is_file()
