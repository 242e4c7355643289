"""python3 -m infra.bootstrap [STEP ...]: install and cache what the project needs.

Steps:
  venv-path         print the venv's path
  python            the project venv (base dependencies and every extra)
  debs              Java, Maven, PostgreSQL 15
  jars              Kafka, the Flink Kafka connector
  flink-udfs        the Flink jobs' JVM functions
  base              what `make run` and `make test` both need (the four above)
  tofu, providers, kube, helm, kubeconform, actionlint
                    Go-built and cached, at full speed unless WAARDHAVEN_BUILD_LOW_PRIORITY=1
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

from . import crds, debs, flink_udfs, gotools, jars, node, venv
from .common import BootstrapError


def _base() -> None:
    venv.remove_stale(venv.ensure())
    debs.ensure()
    jars.ensure_all()
    flink_udfs.ensure()


def _deploy_toolchain() -> None:
    gotools.deploy_toolchain()
    crds.ensure_all()


def _toolchain() -> None:
    gotools.toolchain()
    crds.ensure_all()


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
    "deploy-toolchain": _deploy_toolchain,
    "toolchain": _toolchain,
    "cdktf-cli": node.ensure,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m infra.bootstrap", description=__doc__)
    parser.add_argument("steps", nargs="*", default=["base"], choices=[*STEPS, "venv-path"], metavar="STEP")
    args = parser.parse_args(argv)
    try:
        for name in args.steps:
            if name == "venv-path":
                print(venv.venv_path())
            else:
                STEPS[name]()
    except BootstrapError as exc:
        print(f"bootstrap: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
