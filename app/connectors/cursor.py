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
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{source}.")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(orjson.dumps(cursor))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self._path(source))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
