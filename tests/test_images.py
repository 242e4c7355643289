"""images/*/Dockerfile: what can be checked without building them (no Docker engine here, and no container
registry is reachable to pull a base from: README, "Images")."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from app.flink import cluster
from infra import images
from tests import REPO

DOCKERFILES = sorted((REPO / "images").glob("*/Dockerfile"))
PINNED = re.compile(r"^ARG (\w+)=[a-z0-9./_-]+:[\w.-]+@sha256:[0-9a-f]{64}$", re.MULTILINE)


def _stages(path: Path) -> list[str]:
    """The Dockerfile's build stages, each from its FROM line up to the next."""
    return re.split(r"^(?=FROM )", path.read_text(), flags=re.MULTILINE)[1:]


def test_there_is_an_image_for_the_services_the_flink_jobs_and_the_daily_batch():
    assert [p.parent.name for p in DOCKERFILES] == ["flink", "python-services", "spark"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_base_is_pinned_by_digest(dockerfile):
    text = dockerfile.read_text()
    pinned = set(PINNED.findall(text))
    bases = set(re.findall(r"^FROM \$\{(\w+)\}", text, flags=re.MULTILINE))
    assert bases and bases <= pinned
    assert not re.search(r"^FROM (?!\$\{)(?!\w+$)", text, flags=re.MULTILINE)  # only ARGs or earlier stages


def test_the_services_image_runs_app_serve_as_its_user_with_no_build_tools():
    dockerfile = REPO / "images/python-services/Dockerfile"
    final = _stages(dockerfile)[-1]
    assert "apt-get" not in final and "pip install" not in final
    assert "pip uninstall" in final  # the base's own pip goes too
    assert f"USER {images.PYTHON_SERVICES_UID}:{images.PYTHON_SERVICES_UID}" in final
    assert f"ARG UID={images.PYTHON_SERVICES_UID}" in final
    assert 'ENTRYPOINT ["python", "-m", "app.serve"]' in final
    build = _stages(dockerfile)[0]
    assert '["optional-dependencies"]["pipeline"]' in build and "-c requirements.lock" in build
    assert "rm -rf /opt/waardhaven/app/local" in build


def test_the_flink_image_matches_the_pinned_pyflink_and_where_the_jobs_look():
    text = (REPO / "images/flink/Dockerfile").read_text()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (pyflink,) = [d for d in project["optional-dependencies"]["flink"] if d.startswith("apache-flink==")]
    version = pyflink.split("==")[1]
    assert re.search(rf"^ARG FLINK_BASE=flink:{re.escape(version)}-java11@", text, flags=re.MULTILINE)
    chart = (REPO / "charts/flink-jobs/templates/flinkdeployment.yaml").read_text()
    assert f"local:///opt/flink/opt/flink-python-{version}.jar" in chart  # shipped in the Flink image
    assert cluster.UDF_JAR.removeprefix("file://") in text
    assert "USER 9999:9999" in _stages(REPO / "images/flink/Dockerfile")[-1]


def test_the_build_context_holds_only_what_the_images_copy():
    allowed = [
        line[1:].rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines() if line[:1] == "!"
    ]
    for dockerfile in DOCKERFILES:
        for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile.read_text(), flags=re.MULTILINE):
            for path in source.split():
                assert any(path.rstrip("/").startswith(a) for a in allowed), (dockerfile, path)
                assert (REPO / path).exists(), path


def test_the_spark_image_is_the_official_spark_of_the_pinned_pyspark_running_as_its_user():
    text = (REPO / "images/spark/Dockerfile").read_text()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (pyspark,) = [d for d in project["optional-dependencies"]["batch"] if d.startswith("pyspark==")]
    assert re.search(
        rf"^ARG SPARK_BASE=apache/spark:{re.escape(pyspark.split('==')[1])}-", text, re.MULTILINE
    )
    final = _stages(REPO / "images/spark/Dockerfile")[-1]
    assert "pip install" not in final and "mvn" not in final
    assert f"USER {images.SPARK_BATCH_UID}:{images.SPARK_BATCH_UID}" in final
    main = images.SPARK_BATCH_MAIN.removeprefix("local://")
    assert main.startswith("/opt/waardhaven/") and (REPO / main.removeprefix("/opt/waardhaven/")).is_file()
