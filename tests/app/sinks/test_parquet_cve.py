"""CVE-2023-47248: pyarrow 11 (held back by apache-flink) unpickles the metadata of an
`arrow.py_extension_type` column when it reads Parquet. Every module in app/ that reads or writes Parquet
loads pyarrow-hotfix, which refuses such a column. Each read runs in a fresh interpreter: the hotfix must
come from the app module alone, and the crafted payload must not run in the test process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import REPO

# A Parquet file with an extension column whose pickled type opens (creates) the file argv[1] when read.
CRAFT = """
import builtins, sys
import pyarrow as pa, pyarrow.parquet as pq

class Payload(pa.PyExtensionType):
    def __init__(self):
        super().__init__(pa.int64())

    def __reduce__(self):
        return (builtins.open, (sys.argv[1], "w"))

column = pa.ExtensionArray.from_storage(Payload(), pa.array([1, 2]))
pq.write_table(pa.table({"x": column}), sys.argv[2])
"""
READERS = {
    "the lake writer's module": "import app.sinks.lake, pyarrow.parquet as pq; pq.read_table(PATH)",
    "the replay connector": "from app.connectors import replay; list(replay._rows(PATH, 'parquet'))",
}


def _python(code: str, *args: Path) -> subprocess.CompletedProcess:
    code = f"import sys\nfrom pathlib import Path\nPATH = Path(sys.argv[1])\n{code}"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def crafted(tmp_path) -> tuple[Path, Path]:
    marker, path = tmp_path / "payload-ran", tmp_path / "crafted.parquet"
    assert _python(CRAFT, marker, path).returncode == 0
    assert not marker.exists()
    return path, marker


def test_the_crafted_file_runs_its_payload_in_unpatched_pyarrow(crafted):
    path, marker = crafted
    _python("import pyarrow.parquet as pq; pq.read_table(sys.argv[1])", path)
    assert marker.exists()  # so the refusals below are the hotfix's doing


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_crafted_extension_type_is_refused(crafted, reader):
    path, marker = crafted

    proc = _python(READERS[reader], path)

    assert proc.returncode != 0
    assert "Disallowed deserialization of 'arrow.py_extension_type'" in proc.stderr
    assert not marker.exists()
