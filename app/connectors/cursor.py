"""A persisted cursor per source: where to resume so a restart neither skips nor re-sends a window.

One JSON file per source in the state directory, replaced atomically. The runtime saves a cursor only
after the producer has delivered every record before it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import orjson


class CursorStore:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, source: str) -> Path:
        return self.directory / f"{source}.cursor.json"

    def load(self, source: str) -> dict | None:
        try:
            return orjson.loads(self._path(source).read_bytes())
        except FileNotFoundError:
            return None
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{self._path(source)}: corrupt cursor file ({exc}); fix or delete it") from None

    def save(self, source: str, cursor: dict) -> None:
        replace_atomically(self._path(source), orjson.dumps(cursor))


def replace_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so a reader (or a crash) sees the old file or the new one, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
