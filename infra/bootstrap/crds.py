"""The operators' CustomResourceDefinitions from the package registries, at the versions the stack pins.

Every operator's CRDs come from where its project publishes the generated YAML (nothing here writes one):
- a Go module that carries them (`go mod download`): prometheus-operator, cert-manager, KEDA, External
  Secrets, CloudNativePG;
- a Maven artifact: the Flink operator's API jar carries its fabric8-generated CRDs (META-INF/fabric8/);
- Strimzi publishes no CRD files to a registry, but its `crd-generator` and `api` jars are on Maven Central:
  the generator is run over the API classes with the arguments of the api module's own build, read from the
  api POM that Maven Central serves, which is how Strimzi's release produces its CRD files.
The kubeflow Spark operator's CRDs are in no registry reachable here (the Go module proxy refuses the module
at every version, and neither Maven Central, PyPI nor npm carries them), but the project publishes pydantic
models of its API on PyPI (kubeflow-spark-api, generated from the same Go types): its kubeconform schemas are
made from those (infra.bootstrap.model_schema), and it has no CRD, so no local API server can hold its kinds.

Each operator's entry is cached under cache_root()/crds/, keyed by its version and this step's code, with:
  crds/<name>.yaml                   one CRD per file (Helm template placeholders and keep-policies removed)
  schemas/<group>/<kind>_<version>.json   kubeconform's JSON schemas (the openapi2jsonschema layout, strict)
  charts/<name>/                     CRD-only Helm charts of them (the `local` operators stack installs them)
(an ApiModels entry has the schemas only).
The conversion needs PyYAML, so it runs in the project venv (infra.bootstrap.crd_schema); the rest is stdlib.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import debs, jars, venv
from .common import (
    BootstrapError,
    cache_root,
    discard_partial,
    fingerprint,
    is_complete,
    mark_complete,
    run,
    say,
    step,
)
from .gotools import go_env

CONVERTER = Path(__file__).resolve().with_name("crd_schema.py")
MODEL_CONVERTER = Path(__file__).resolve().with_name("model_schema.py")
BOOTSTRAP_CRDS = "`python3 -m infra.bootstrap crds`"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
STRIMZI_GENERATOR = "io.strimzi.crdgenerator.CrdGenerator"


@dataclass(frozen=True)
class GoModule:
    """CRD YAML files inside a Go module, matched by glob patterns relative to the module root."""

    module: str
    version: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class JarResources:
    """CRD YAML files inside a Maven jar, matched by a glob pattern on the entry names."""

    coordinates: str
    pattern: str


@dataclass(frozen=True)
class StrimziGenerated:
    """Strimzi's crd-generator run over its api jar, as the api module's build (its POM) runs it."""

    version: str


@dataclass(frozen=True)
class ApiModels:
    """A PyPI wheel of the operator's pydantic API models, and the kinds to make schemas of, as
    "group/version/Kind" -> "module:Class"."""

    requirement: str
    kinds: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class OperatorCrds:
    """The CRDs of one operator of the operators stack (its key in the config's `operators` section).

    `chart_version` is the Helm chart the environment configs pin (a test checks each one against it);
    `app_version` is the operator release that chart ships, whose CRDs these are.
    """

    name: str
    chart_version: str
    app_version: str
    source: GoModule | JarResources | StrimziGenerated | ApiModels


OPERATORS = {
    crds.name: crds
    for crds in (
        OperatorCrds(
            "cert_manager",
            "v1.18.2",
            "v1.18.2",
            GoModule("github.com/cert-manager/cert-manager", "v1.18.2", ("deploy/crds/crd-*.yaml",)),
        ),
        # kube-prometheus-stack 66.3.1 ships prometheus-operator v0.78.2 (the chart's appVersion).
        OperatorCrds(
            "kube_prometheus_stack",
            "66.3.1",
            "v0.78.2",
            GoModule(
                "github.com/prometheus-operator/prometheus-operator",
                "v0.78.2",
                ("example/prometheus-operator-crd/monitoring.coreos.com_*.yaml",),
            ),
        ),
        OperatorCrds("strimzi", "0.45.0", "0.45.0", StrimziGenerated("0.45.0")),
        OperatorCrds(
            "flink_operator",
            "1.10.0",
            "1.10.0",
            JarResources(
                "org.apache.flink:flink-kubernetes-operator-api:1.10.0", "META-INF/fabric8/*-v1.yml"
            ),
        ),
        OperatorCrds(
            "keda",
            "2.18.0",
            "v2.18.0",
            GoModule("github.com/kedacore/keda/v2", "v2.18.0", ("config/crd/bases/*.yaml",)),
        ),
        OperatorCrds(
            "external_secrets",
            "0.19.2",
            "v0.19.2",
            GoModule(
                "github.com/external-secrets/external-secrets", "v0.19.2", ("config/crds/bases/*.yaml",)
            ),
        ),
        # The Spark operator's chart 2.4.0 ships the operator 2.4.0, modelled by kubeflow-spark-api 2.4.0.
        OperatorCrds(
            "spark_operator",
            "2.4.0",
            "v2.4.0",
            ApiModels(
                "kubeflow-spark-api==2.4.0",
                tuple(
                    (f"sparkoperator.k8s.io/v1beta2/{kind}", f"kubeflow_spark_api.models.{module}:{cls}")
                    for kind, module, cls in (
                        (
                            "ScheduledSparkApplication",
                            "spark_v1beta2_scheduled_spark_application",
                            "SparkV1beta2ScheduledSparkApplication",
                        ),
                        (
                            "SparkApplication",
                            "spark_v1beta2_spark_application",
                            "SparkV1beta2SparkApplication",
                        ),
                    )
                ),
            ),
        ),
        # CloudNativePG's chart 0.25.0 ships the operator 1.26.1.
        OperatorCrds(
            "cloudnative_pg",
            "0.25.0",
            "v1.26.1",
            GoModule("github.com/cloudnative-pg/cloudnative-pg", "v1.26.1", ("config/crd/bases/*.yaml",)),
        ),
    )
}
# Charts of the operators stack that define no custom resources.
NO_CRDS = frozenset({"cluster_autoscaler"})


def _operator(name: str) -> OperatorCrds:
    if name not in OPERATORS:
        raise BootstrapError(f"no CRD source for {name!r}: known are {', '.join(OPERATORS)}")
    return OPERATORS[name]


def entry_dir(name: str) -> Path:
    """Where one operator's CRDs are cached: keyed by its version and source and the code that makes them."""
    crds = _operator(name)
    key = fingerprint(
        repr(crds), CONVERTER.read_bytes(), MODEL_CONVERTER.read_bytes(), Path(__file__).read_bytes()
    )
    return cache_root() / "crds" / f"{name}-{crds.app_version}-{key}"


def _built(name: str) -> Path:
    directory = entry_dir(name)
    if not is_complete(directory):
        raise BootstrapError(
            f"the CRDs of {name} {OPERATORS[name].app_version} are not fetched ({directory}): "
            f"run {BOOTSTRAP_CRDS}"
        )
    return directory


def crd_dir(name: str) -> Path:
    """The directory of one operator's CRDs, one per file; fails naming the command when not fetched."""
    return _built(name) / "crds"


def crd_files(name: str) -> list[Path]:
    return sorted(crd_dir(name).glob("*.yaml"))


def schema_dir(name: str) -> Path:
    """kubeconform schemas of one operator: <group>/<kind>_<version>.json."""
    return _built(name) / "schemas"


def schema_locations() -> list[str]:
    """kubeconform `-schema-location` values, one per operator with CRDs."""
    layout = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    return [f"{schema_dir(name)}/{layout}" for name in OPERATORS]


def chart_dirs(name: str) -> list[Path]:
    """Helm charts holding exactly the operator's CRDs between them (each installed, upgraded and uninstalled
    with its release): one, or several where one release would not fit (see CHART_BUDGET); none for an
    operator known by its API models only."""
    charts = _built(name) / "charts"
    return sorted(p for p in charts.iterdir() if p.is_dir()) if charts.is_dir() else []


def has_crds(name: str) -> bool:
    """Whether the operator's CRDs themselves are had (not only schemas of its API models)."""
    return not isinstance(_operator(name).source, ApiModels)


def _from_go_module(source: GoModule, raw: Path) -> None:
    out = run(
        ["go", "mod", "download", "-json", f"{source.module}@{source.version}"],
        what=f"downloading {source.module}@{source.version}",
        fix="check that the Go module proxy is reachable (go env GOPROXY), then rerun",
        env=go_env(),
    )
    module_dir = Path(json.loads(out)["Dir"])
    found = [path for pattern in source.patterns for path in sorted(module_dir.glob(pattern))]
    if not found:
        raise BootstrapError(
            f"{source.module}@{source.version} has no file matching {', '.join(source.patterns)}"
        )
    for path in found:
        shutil.copyfile(path, raw / path.name)


def _from_jar(source: JarResources, raw: Path) -> None:
    jar = jars.fetch_artifact(source.coordinates, raw.parent / "download")
    with zipfile.ZipFile(jar) as archive:
        names = [n for n in archive.namelist() if Path(n).match(source.pattern)]
        if not names:
            raise BootstrapError(f"{source.coordinates} has no entry matching {source.pattern}")
        for entry in names:
            (raw / Path(entry).name).write_bytes(archive.read(entry))


def generator_runs(api_pom: Path, out: Path) -> list[list[str]]:
    """The CrdGenerator argument lists of the api module's build, with its output files placed in `out`.

    The POM names each output as `Class=${project.basedir}${file.separator}..${file.separator}...file.yaml`;
    only the file name is kept.
    """
    runs = []
    for execution in ET.parse(api_pom).getroot().iterfind(".//m:execution", _POM_NS):
        args = [a.text or "" for a in execution.iterfind(".//m:arguments/m:argument", _POM_NS)]
        if STRIMZI_GENERATOR not in args:
            continue
        generator_args = args[args.index(STRIMZI_GENERATOR) + 1 :]
        runs.append(
            [
                f"{arg.split('=', 1)[0]}={out / arg.rsplit('}', 1)[-1]}" if "=" in arg else arg
                for arg in generator_args
            ]
        )
    if not runs:
        raise BootstrapError(f"{api_pom} runs no {STRIMZI_GENERATOR}: the Strimzi build changed, check it")
    return runs


def _from_strimzi(source: StrimziGenerated, raw: Path) -> None:
    download = raw.parent / "download"
    api = jars.fetch_artifact(f"io.strimzi:api:{source.version}", download)
    pom = jars.fetch_artifact(f"io.strimzi:api:{source.version}:pom", download)
    generator = jars.fetch_artifact(f"io.strimzi:crd-generator:{source.version}", download)
    java = str(debs.java_binary())
    for args in generator_runs(pom, raw):
        run(
            [java, "-Xmx512m", "-cp", f"{api}:{generator}", STRIMZI_GENERATOR, *args],
            what=f"generating the Strimzi {source.version} CRDs",
            fix="check the Java installation (`python3 -m infra.bootstrap debs`), then rerun",
        )


@functools.cache
def _venv_python() -> Path:
    return venv.ensure() / "bin" / "python"


def _schemas_from_models(source: ApiModels, staging: Path, python: Path) -> None:
    download, site = staging / "download", staging / "raw" / "site"
    run(
        [str(python), "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
        + ["--dest", str(download), source.requirement],
        what=f"downloading {source.requirement}",
        fix="check that PyPI is reachable, then rerun",
    )
    (wheel,) = download.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    run(
        [str(python), str(MODEL_CONVERTER), str(site), str(staging)] + [f"{k}={m}" for k, m in source.kinds],
        what=f"making schemas of the {source.requirement} models",
        fix="the wheel's models are not those expected: check the source in infra/bootstrap/crds.py",
    )


FETCHERS = {GoModule: _from_go_module, JarResources: _from_jar, StrimziGenerated: _from_strimzi}

CHART_TEMPLATE = """{{- /* Files, not templates: a CRD's descriptions may hold template syntax. */}}
{{- range $path, $_ := .Files.Glob "files/*.yaml" }}
---
{{ $.Files.Get $path }}
{{- end }}
"""


# Helm keeps a release (its chart's files and the rendered manifest, gzipped) in one Secret, at most 1 MiB;
# CRD YAML compresses to about a sixth, stored twice: 1.5 MB of it per chart leaves room.
CHART_BUDGET = 1_500_000


def chart_parts(files: list[Path], budget: int = CHART_BUDGET) -> list[list[Path]]:
    """The files in order, in consecutive parts of at most `budget` bytes (a larger file stands alone)."""
    parts: list[list[Path]] = []
    size = budget
    for path in files:
        if size + path.stat().st_size > budget:
            parts.append([])
            size = 0
        parts[-1].append(path)
        size += path.stat().st_size
    return parts


def _write_charts(crds: OperatorCrds, directory: Path) -> None:
    parts = chart_parts(sorted((directory / "crds").glob("*.yaml")))
    base = f"{crds.name.replace('_', '-')}-crds"
    for index, files in enumerate(parts, start=1):
        name = base if len(parts) == 1 else f"{base}-{index}"
        chart = directory / "charts" / name
        (chart / "templates").mkdir(parents=True)
        (chart / "files").mkdir()
        for path in files:
            os.link(path, chart / "files" / path.name)
        (chart / "Chart.yaml").write_text(
            "apiVersion: v2\n"
            f"name: {name}\n"
            f"description: {crds.name} {crds.app_version} CRDs, part {index} of {len(parts)}\n"
            "type: application\n"
            f"version: {crds.app_version.removeprefix('v')}\n"
            f'appVersion: "{crds.app_version}"\n'
        )
        (chart / "templates" / "crds.yaml").write_text(CHART_TEMPLATE)


def ensure(name: str) -> Path:
    """Fetch, clean and convert one operator's CRDs once per version; later calls return the cache."""
    crds = _operator(name)
    directory = entry_dir(name)
    if is_complete(directory):
        say(f"crds {name} {crds.app_version} cached at {directory}")
        return directory
    discard_partial(directory, "incomplete (an earlier fetch stopped part way)")
    python = _venv_python()
    with step(f"crds {name} {crds.app_version} ({type(crds.source).__name__})"):
        staging = directory.with_name(directory.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        raw = staging / "raw"
        raw.mkdir(parents=True)
        if isinstance(crds.source, ApiModels):
            _schemas_from_models(crds.source, staging, python)
        else:
            FETCHERS[type(crds.source)](crds.source, raw)
            run(
                [str(python), str(CONVERTER), str(raw), str(staging)],
                what=f"converting the {name} CRDs",
                fix="the files fetched are not the CRDs expected: check the source in crds.py",
            )
            _write_charts(crds, staging)
        shutil.rmtree(raw)
        shutil.rmtree(staging / "download", ignore_errors=True)
        mark_complete(staging)
        staging.rename(directory)
    return directory


def ensure_all() -> None:
    for name in OPERATORS:
        ensure(name)
