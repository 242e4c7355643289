"""python3 -m infra.bootstrap [STEP ...]: install and cache what the project needs.

Steps:
  venv-path         print the venv's path
  python            the project venv (base dependencies and every extra)
  debs              Java, Maven, PostgreSQL 15
  jars              Kafka, the Flink Kafka connector
  flink-udfs        the Flink jobs' JVM functions
  base              what `make run` and `make test` both need (the four above)
  tofu, providers, kube, helm, kubeconform, actionlint
                    Go-built and cached, at full speed unless WAARDHAVEN_BUILD_LOW_PRIORITY=1;
                    asked for with other steps, they build beside them (one thread) from the start
                    (kube: etcd, kube-apiserver, kube-controller-manager for the local Kubernetes API)
  crds              the operators' CRDs from the registries (and kubeconform schemas of them)
  deploy-toolchain  what `wh deploy local` uses: OpenTofu, the providers, the local Kubernetes API, the CRDs
  toolchain         every Go-built tool, then the CRDs
  checkov           the policy scanner, in a venv of its own
  cdktf-cli         the cdktf CLI pinned by package-lock.json, via npm, cached (bin/cdktf runs it)
"""

from __future__ import annotations

import argparse
import sys
import threading

from . import crds, debs, flink_udfs, gotools, jars, node, venv
from .common import BootstrapError


def _base() -> None:
    venv.remove_stale(venv.ensure())
    debs.ensure()
    jars.ensure_all()
    flink_udfs.ensure()


STEPS = {
    "python": venv.ensure,
    "checkov": venv.ensure_checkov,
    "debs": debs.ensure,
    "jars": jars.ensure_all,
    "flink-udfs": flink_udfs.ensure,
    "base": _base,
    "tofu": gotools.tofu,
    "providers": gotools.providers,
    "kube": gotools.kube,
    "helm": gotools.helm,
    "kubeconform": gotools.kubeconform,
    "actionlint": gotools.actionlint,
    "crds": crds.ensure_all,
    "deploy-toolchain": gotools.deploy_toolchain,
    "toolchain": gotools.toolchain,
    "cdktf-cli": node.ensure,
}


# Compile-bound (Go builds); the other steps mostly wait on downloads, so the two kinds run side by side.
GO_BUILDS = frozenset(
    {"tofu", "providers", "kube", "helm", "kubeconform", "actionlint", "deploy-toolchain", "toolchain"}
)
# Both toolchains include the CRDs, fetched beside the builds (their conversion runs in the venv).
WITH_CRDS = frozenset({"deploy-toolchain", "toolchain"})


def _run_in_order(names: list[str], errors: list[BootstrapError]) -> None:
    try:
        for name in names:
            STEPS[name]()
    except BootstrapError as exc:
        errors.append(exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m infra.bootstrap", description=__doc__)
    parser.add_argument("steps", nargs="*", default=["base"], choices=[*STEPS, "venv-path"], metavar="STEP")
    args = parser.parse_args(argv)
    if "venv-path" in args.steps:
        print(venv.venv_path())
    steps = [name for name in args.steps if name != "venv-path"]
    builds = [name for name in steps if name in GO_BUILDS]
    errors: list[BootstrapError] = []
    # The Go builds (the longest part of a cold set-up) start at once, beside the venv and the downloads.
    builder = threading.Thread(target=_run_in_order, args=(builds, errors), name="go-builds", daemon=True)
    builder.start()
    others = [name for name in steps if name not in GO_BUILDS]
    if WITH_CRDS & set(steps) and "crds" not in others:
        others.append("crds")
    try:
        _run_in_order(others, errors)
        builder.join()
    except KeyboardInterrupt:
        gotools.stop_builds()
        print("bootstrap: interrupted; a half-done step is rebuilt on the next run", file=sys.stderr)
        return 130
    for exc in errors:
        print(f"bootstrap: {exc}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
