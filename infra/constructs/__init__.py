"""Reusable cdktf constructs: stack base, providers, KMS key, secure bucket, VPC, EKS, IRSA, Helm releases.

Importing this package first makes the provider bindings load lazily. Each generated binding package's
`__init__` imports every one of its modules (about 2,200 for AWS, 10+ s); registering the package without
running that `__init__` lets `from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket` import only the module
it names. The jsii assembly itself still loads whole, in the node process. benchmarks/synth_bench.py
measures the difference.
"""

from __future__ import annotations

import importlib.util
import os
import sys

# The machines ship Node.js 20 and no registry reachable here serves a newer Node; without this, jsii prints
# an end-of-life banner on every synth. The variable is read when jsii starts its node process.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

BINDING_PACKAGES = (
    "cdktf_cdktf_provider_aws",
    "cdktf_cdktf_provider_kubernetes",
    "cdktf_cdktf_provider_helm",
)


def _register_without_init(package: str) -> None:
    if package in sys.modules:
        return
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise ModuleNotFoundError(f"{package} is not installed: run `make bootstrap`", name=package)
    sys.modules[package] = importlib.util.module_from_spec(spec)


for _package in BINDING_PACKAGES:
    _register_without_init(_package)
