"""Java jars resolved by Maven from the small POMs in maven/, cached by name and version.

Each maven/<name>.pom.xml is one bundle: its artifactId and version name the cache directory
jars/<name>-<version>/, filled by `mvn dependency:copy-dependencies`. A bundle is usable only when its
complete-marker exists and every jar it lists is still a readable zip; anything else is rebuilt.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from . import debs
from .common import BootstrapError, cache_root, discard_partial, is_complete, mark_complete, run, say, step

POM_DIR = Path(__file__).resolve().parent / "maven"
MANIFEST = "jars.txt"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
# Flink's Kafka connector and its dependencies: the jobs' runtime classpath, the JVM functions' compile one.
FLINK_KAFKA_CONNECTOR = "flink-connector-kafka"


def bundles() -> list[str]:
    return sorted(p.name.removesuffix(".pom.xml") for p in POM_DIR.glob("*.pom.xml"))


def _pom(name: str) -> Path:
    pom = POM_DIR / f"{name}.pom.xml"
    if not pom.is_file():
        raise BootstrapError(f"no jar bundle named {name!r}: known bundles are {', '.join(bundles())}")
    return pom


def version(name: str) -> str:
    return ET.parse(_pom(name)).getroot().findtext("m:version", namespaces=_NS)


def bundle_dir(name: str) -> Path:
    return cache_root() / "jars" / f"{name}-{version(name)}"


def _problem(directory: Path) -> str | None:
    """Why a cached bundle can't be used, or None when it is sound."""
    if not is_complete(directory):
        return "incomplete (an earlier download stopped part way)"
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return "corrupt (its jar list is missing)"
    for jar in manifest.read_text().split():
        if not zipfile.is_zipfile(directory / jar):
            return f"corrupt ({jar} is missing or not a jar)"
    return None


def _mvn(goal_args: list[str], what: str, fix: str) -> None:
    """One Maven run against the shared local repository cache_root()/m2, with the services' java."""
    run(
        [str(debs.mvn_binary()), "-B", "-q", f"-Dmaven.repo.local={cache_root() / 'm2'}", *goal_args],
        what=what,
        fix=fix,
        env=debs.java_env(),
    )


def fetch_artifact(coordinates: str, directory: Path) -> Path:
    """Copy one artifact (group:artifact:version[:packaging]), without its dependencies, into `directory`."""
    group, artifact, version, *packaging = coordinates.split(":")
    target = directory / f"{artifact}-{version}.{packaging[0] if packaging else 'jar'}"
    _mvn(
        [f"{DEPENDENCY_PLUGIN}:copy", f"-Dartifact={coordinates}", f"-DoutputDirectory={directory}"],
        what=f"fetching {coordinates} from Maven Central",
        fix="check that Maven Central is reachable and the coordinates exist, then rerun the bootstrap",
    )
    if not target.is_file():
        raise BootstrapError(f"maven fetched {coordinates} but {target} is missing")
    return target


def ensure(name: str) -> Path:
    directory = bundle_dir(name)
    problem = _problem(directory)
    if problem is None:
        say(f"jars {directory.name} cached at {directory}")
        return directory
    discard_partial(directory, problem)
    with step(f"jars {directory.name} (maven, first time: about a minute)"):
        staging = directory.with_name(directory.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        _mvn(
            [
                "-f",
                str(_pom(name)),
                f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            what=f"resolving the {name} jars",
            fix="check that Maven Central is reachable, then run `python3 -m infra.bootstrap jars` again",
        )
        jars = sorted(p.name for p in staging.glob("*.jar"))
        if not jars:
            raise BootstrapError(f"maven resolved no jars for {name}: check {_pom(name)}")
        (staging / MANIFEST).write_text("\n".join(jars) + "\n")
        mark_complete(staging)
        staging.rename(directory)
    return directory


def ensure_all() -> None:
    for name in bundles():
        ensure(name)


def classpath(name: str) -> list[Path]:
    """The jars of a bundle, for a JVM's -cp; fails with the command that builds them when absent."""
    directory = bundle_dir(name)
    problem = _problem(directory)
    if problem is not None:
        raise BootstrapError(
            f"the {name} jars at {directory} are {problem}: run `python3 -m infra.bootstrap jars`"
        )
    return [directory / jar for jar in (directory / MANIFEST).read_text().split()]
