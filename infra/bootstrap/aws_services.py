"""The AWS provider built with only the service packages the stacks use.

The provider registers each of its ~260 AWS services in two generated files: the list of service packages
(internal/provider/sdkv2/service_packages_gen.go) and an accessor per AWS SDK client
(internal/conns/awsclient_gen.go), which between them import every service package and SDK client, 2025
packages in all. Building it with both files replaced (`go build -overlay`, the module source untouched)
by versions naming only SERVICES compiles less than half of that: every resource of those services is the
provider's own code, unchanged; a resource of another service is unknown to it ("does not support
resource type"), which tests/infra/tofu/test_aws_provider_services.py turns into a test failure naming the
type before any deploy can meet it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

# The provider's internal/service/<name> packages the stacks' resources and data sources live in.
SERVICES = ("dynamodb", "ec2", "eks", "iam", "kms", "logs", "meta", "s3", "secretsmanager", "sts")

SERVICE_LIST = Path("internal/provider/sdkv2/service_packages_gen.go")
CLIENTS = Path("internal/conns/awsclient_gen.go")
_SERVICE_IMPORT = re.compile(r'\s*"github\.com/hashicorp/terraform-provider-aws/internal/service/(\w+)"$')
_SERVICE_ENTRY = re.compile(r"\s*(\w+)\.ServicePackage\(ctx\),$")
_SDK_IMPORT = re.compile(r'\s*"github\.com/aws/aws-sdk-go-v2/service/(\w+)"$')
_ACCESSOR = re.compile(
    r"func \(c \*AWSClient\) (\w+)\(ctx context\.Context\) \*(\w+)\.Client \{\n.*?\n\}\n", re.S
)


def service_list(generated: str, services: tuple[str, ...] = SERVICES) -> str:
    """service_packages_gen.go naming only `services`."""
    kept = []
    for line in generated.splitlines():
        match = _SERVICE_IMPORT.match(line) or _SERVICE_ENTRY.match(line)
        if match and match.group(1) not in services:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def client_accessors(generated: str, used: set[str]) -> str:
    """awsclient_gen.go with only the accessors in `used`, and only the SDK clients they return."""
    head, _, _ = generated.partition("\nfunc ")
    accessors = {m.group(1): (m.group(2), m.group(0)) for m in _ACCESSOR.finditer(generated)}
    clients = {accessors[name][0] for name in used}
    lines = [
        line
        for line in head.splitlines()
        if not ((m := _SDK_IMPORT.match(line)) and m.group(1) not in clients)
    ]
    return "\n".join(lines) + "\n\n" + "\n".join(accessors[name][1] for name in sorted(used))


def accessor_names(generated: str) -> set[str]:
    return {m.group(1) for m in _ACCESSOR.finditer(generated)}


def overlay(src: Path, workdir: Path, env: dict[str, str]) -> Path:
    """The `go build -overlay` file for the provider in `src`: its service list cut to SERVICES, and its
    client accessors to those the compiled packages call (found by growing the set until the packages the
    build takes in call no accessor outside it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    services_file, clients_file = workdir / SERVICE_LIST.name, workdir / CLIENTS.name
    services_file.write_text(service_list((src / SERVICE_LIST).read_text()))
    generated = (src / CLIENTS).read_text()
    names = accessor_names(generated)
    calls = re.compile(r"\b(" + "|".join(sorted(names, key=len, reverse=True)) + r")\(ctx")
    replaced = workdir / "overlay.json"
    replacements = {str(src / SERVICE_LIST): str(services_file), str(src / CLIENTS): str(clients_file)}
    replaced.write_text(json.dumps({"Replace": replacements}))
    used: set[str] = set()
    while True:
        clients_file.write_text(client_accessors(generated, used))
        listed = subprocess.run(
            ["go", "list", "-overlay", str(replaced), "-deps", "-f", "{{.Dir}}", "."],
            cwd=src,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        called = set()
        for package in (Path(d) for d in listed if d.startswith(str(src))):
            for source in package.glob("*.go"):
                if not source.name.endswith("_test.go") and source.name != CLIENTS.name:
                    called |= set(calls.findall(source.read_text()))
        if called <= used:
            return replaced
        used |= called
