"""A small rosbag2 writer: topics are added on first write; storage chosen by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from rosbags.rosbag2 import StoragePlugin, Writer

from ..errors import BagError
from .messages import TYPESTORE

__all__ = ["BagWriter", "STORAGES"]

STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}


class BagWriter:
    """``with BagWriter(path, "mcap") as bag: bag.write("/odom", stamp_ns, msg)``."""

    def __init__(self, path: str | Path, storage: str = "sqlite3") -> None:
        if storage not in STORAGES:
            raise BagError(f"unknown bag storage {storage!r}; choose one of {', '.join(STORAGES)}")
        self.path = Path(path)
        if self.path.exists():
            raise BagError(f"{self.path} already exists; remove it or choose another output path")
        self._writer = Writer(self.path, version=8, storage_plugin=STORAGES[storage])
        self._connections: Dict[str, Any] = {}

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()

    def write(self, topic: str, stamp_ns: int, msg: Any, msgtype: Optional[str] = None) -> None:
        msgtype = msgtype or msg.__msgtype__
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(topic, msgtype, typestore=TYPESTORE)
        self._writer.write(self._connections[topic], int(stamp_ns), TYPESTORE.serialize_cdr(msg, msgtype))
