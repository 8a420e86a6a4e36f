"""Any bag (rosbag2 sqlite3/MCAP or ROS 1) behind one reader, with topics found by name or type."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.rosbag1 import ReaderError as Rosbag1ReaderError
from rosbags.rosbag2 import ReaderError as Rosbag2ReaderError
from rosbags.serde import SerdeError
from rosbags.typesys import TypesysError

from ..errors import BagError
from ..geometry import Pose
from ..messages import transform_to_pose
from .messages import TYPESTORE

__all__ = ["BagReader", "find_topic", "DAMAGED_BAG_ERRORS"]

# What a damaged or foreign file raises while rosbags reads it: rosbags' own errors, a short read in its
# CDR deserialiser (struct.error), a damaged sqlite3 database. Anything else is a bug and keeps its traceback.
DAMAGED_BAG_ERRORS = (AnyReaderError, Rosbag1ReaderError, Rosbag2ReaderError, SerdeError, TypesysError, struct.error,
                      sqlite3.DatabaseError)


def find_topic(topics: Dict[str, str], msgtypes: Sequence[str], wanted: Optional[str] = None,
               role: str = "input") -> Optional[str]:
    """The topic named ``wanted`` (checked against ``msgtypes``), else the first topic of those types."""
    if wanted is not None:
        if wanted not in topics:
            raise BagError(f"the bag has no topic {wanted!r} for the {role}; it has {sorted(topics)}")
        if topics[wanted] not in msgtypes:
            raise BagError(f"topic {wanted!r} is {topics[wanted]}, but the {role} needs one of {list(msgtypes)}")
        return wanted
    for msgtype in msgtypes:
        candidates = sorted(t for t, m in topics.items() if m == msgtype)
        if candidates:
            return candidates[0]
    return None


class BagReader:
    """Read messages in stamp order, deserialised with the ROS 2 Jazzy typestore.

    ROS 1 bags carry their own message definitions, which ``AnyReader`` uses.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f"bag not found: {self.path}")
        try:
            self._reader = AnyReader([self.path], default_typestore=TYPESTORE)
        except (AnyReaderError, OSError) as err:  # a folder without metadata.yaml, a file of another format
            raise BagError(f"{self.path} is not a bag (rosbag2 folder or file, or ROS 1 .bag): {err}") from err

    def __enter__(self) -> BagReader:
        try:
            self._reader.open()
        except DAMAGED_BAG_ERRORS as err:
            raise BagError(f"cannot read bag {self.path}: {err}") from err
        return self

    def __exit__(self, *exc: object) -> None:
        self._reader.close()

    @property
    def topics(self) -> Dict[str, str]:
        return {c.topic: c.msgtype for c in self._reader.connections}

    @property
    def message_counts(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for c in self._reader.connections:
            counts[c.topic] = counts.get(c.topic, 0) + c.msgcount
        return counts

    def static_transform(self, parent: str, child: Optional[str] = None) -> Optional[Tuple[str, Pose]]:
        """(child frame, pose of child in parent) from /tf_static; the first child of ``parent`` if none is named."""
        if "/tf_static" not in self.topics:
            return None
        for _, _, msg in self.messages(["/tf_static"]):
            for t in msg.transforms:
                if t.header.frame_id == parent and child in (None, t.child_frame_id):
                    return t.child_frame_id, transform_to_pose(t.transform)
        return None

    def messages(self, topics: List[str]) -> Iterator[Tuple[str, int, Any]]:
        """(topic, bag receive time ns, deserialised message) in bag time order."""
        for connection, timestamp, raw in self._stored(topics):
            try:
                msg = self._reader.deserialize(raw, connection.msgtype)
            except DAMAGED_BAG_ERRORS as err:
                raise BagError(f"bag {self.path}: a {connection.topic} message does not deserialise: {err}") from err
            yield connection.topic, timestamp, msg

    def raw_messages(self, topics: List[str]) -> Iterator[Tuple[str, int, bytes]]:
        """(topic, bag receive time ns, the stored CDR bytes) in bag time order, to publish as they are."""
        for connection, timestamp, raw in self._stored(topics):
            yield connection.topic, timestamp, raw

    def _stored(self, topics: List[str]) -> Iterator[Tuple[Any, int, bytes]]:
        connections = [c for c in self._reader.connections if c.topic in topics]
        try:
            yield from self._reader.messages(connections=connections)
        except DAMAGED_BAG_ERRORS as err:
            raise BagError(f"bag {self.path} is damaged while reading {topics}: {err}") from err
