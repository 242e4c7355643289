"""Go-built tools from the Go module proxy: OpenTofu, helm, kubeconform and the Terraform providers.

Every tool builds the same way: `go mod download` the module at a pinned version, copy it to a writable
directory (the module cache is read-only and some modules carry `replace` directives, so `go install`
refuses them), and `go build` there. Binaries are cached under cache_root() keyed by tool version and Go
version; the providers are then laid out as an OpenTofu filesystem mirror that infra/tofu points at.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.bootstrap.provider_versions import BUILT_VERSIONS, PROVIDER_VERSIONS

from . import aws_services, tofu_backends
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

MIRROR_HOST = "registry.opentofu.org"
MIRROR_NAMESPACE = "hashicorp"
PLATFORM = "linux_amd64"
HEARTBEAT_SECONDS = 30
LOW_PRIORITY_ENV = "WAARDHAVEN_BUILD_LOW_PRIORITY"


@dataclass(frozen=True)
class GoTool:
    name: str
    module: str
    version: str  # as the Go module proxy serves it
    package: str = "."
    ldflags: str = ""
    first_build: str = "a few minutes"
    # Some modules are published with `replace X => ./local/path` directives whose paths the module zip
    # leaves out (k8s.io/kubernetes's ./staging, etcd's ../api): each such X is taken from the Go module
    # proxy instead, at this version (REQUIRED: the version go.mod requires). None: no such directives.
    published_replacements: str | None = None
    source_key: str = ""  # tools built from one module share its source copy under this name
    # Files of the module replaced for the build (`go build -overlay`): (source, workdir, env) -> the
    # overlay file; `variant` names what it changes in the cached build's key.
    overlay: Callable[[Path, Path, dict[str, str]], Path] | None = None
    variant: str = ""

    @property
    def source_name(self) -> str:
        return self.source_key or self.name

    @property
    def mod_flags(self) -> list[str]:
        """A rewritten go.mod lacks go.sum lines for its new modules: let the go command add them."""
        return ["-mod=mod"] if self.published_replacements else []


REQUIRED = "required"


@dataclass(frozen=True)
class Provider:
    """A Terraform provider built from Go source and served to OpenTofu through the mirror.

    `bindings` is the version the cdktf bindings in the venv were generated for. The Go module proxy
    reachable here serves one commit of each provider repository (a pseudo-version on its main branch,
    newer than `bindings`), so `version` is the release that commit follows, which is what the mirror
    advertises and what synthesized stacks require (both in infra/bootstrap/provider_versions.py).
    """

    type: str
    tool: GoTool

    @property
    def source(self) -> str:
        return f"{MIRROR_NAMESPACE}/{self.type}"

    @property
    def version(self) -> str:
        return BUILT_VERSIONS[self.source]

    @property
    def bindings(self) -> str:
        return PROVIDER_VERSIONS[self.source]


# OpenTofu 1.12.6: the newest release the proxy serves; it builds with the machine's Go 1.26 and speaks the
# plugin protocol features (resource identity, write-only attributes) the 6.x AWS provider uses.
TOFU = GoTool(
    "tofu",
    "github.com/opentofu/opentofu",
    "v1.12.6",
    "./cmd/tofu",
    "-X github.com/opentofu/opentofu/version.dev=no",
    first_build="5-20 minutes on a busy 2-core machine",
    overlay=tofu_backends.overlay,
    variant="backends-" + fingerprint(*tofu_backends.KEPT),
)
HELM = GoTool(
    "helm", "helm.sh/helm/v3", "v3.22.0", "./cmd/helm", "-X helm.sh/helm/v3/internal/version.version=v3.22.0"
)
KUBECONFORM = GoTool("kubeconform", "github.com/yannh/kubeconform", "v0.8.0", "./cmd/kubeconform")
# Lints .github/workflows (tests/test_github_workflows.py).
ACTIONLINT = GoTool(
    "actionlint",
    "github.com/rhysd/actionlint",
    "v1.7.12",
    "./cmd/actionlint",
    "-X github.com/rhysd/actionlint.version=v1.7.12",
)

# The local Kubernetes API (infra.kube): Kubernetes 1.33, the EKS version of every environment, which every
# pinned operator supports. k8s.io/kubernetes replaces its staging modules (k8s.io/api, ...) with ./staging,
# which its module zip leaves out: the same modules as published at v0.33.x take their place.
KUBERNETES_VERSION = "v1.33.13"
_KUBERNETES_LDFLAGS = " ".join(
    f"-X {package}.{field}={value}"
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    for field, value in (
        ("gitVersion", KUBERNETES_VERSION),
        ("gitMajor", KUBERNETES_VERSION.split(".")[0].removeprefix("v")),
        ("gitMinor", KUBERNETES_VERSION.split(".")[1]),
        ("gitTreeState", "clean"),
    )
)
KUBE_APISERVER, KUBE_CONTROLLER_MANAGER = (
    GoTool(
        name,
        "k8s.io/kubernetes",
        KUBERNETES_VERSION,
        f"./cmd/{name}",
        _KUBERNETES_LDFLAGS,
        first_build="10-30 minutes on a busy 2-core machine",
        published_replacements="v0" + KUBERNETES_VERSION.removeprefix("v1"),
        source_key="kubernetes",
    )
    for name in ("kube-apiserver", "kube-controller-manager")
)
# etcd 3.5.21: the release Kubernetes 1.33 is built and tested against (Debian's etcd-server is 3.4).
ETCD = GoTool(
    "etcd",
    "go.etcd.io/etcd/server/v3",
    "v3.5.21",
    ldflags="-X go.etcd.io/etcd/api/v3/version.GitSHA=v3.5.21",
    published_replacements=REQUIRED,
)

PROVIDERS = {
    p.type: p
    for p in (
        Provider(
            "aws",
            GoTool(
                "terraform-provider-aws",
                "github.com/hashicorp/terraform-provider-aws",
                "v1.60.1-0.20260602190131-5f2286d6d836",
                first_build="10-25 minutes on a 2-core machine",
                overlay=aws_services.overlay,
                variant="services-" + fingerprint(*aws_services.SERVICES),
            ),
        ),
        Provider(
            "kubernetes",
            GoTool(
                "terraform-provider-kubernetes",
                "github.com/hashicorp/terraform-provider-kubernetes",
                "v1.13.4-0.20260821094251-3a33fb6cc605",
            ),
        ),
        Provider(
            "helm",
            GoTool(
                "terraform-provider-helm",
                "github.com/hashicorp/terraform-provider-helm",
                "v1.3.3-0.20260629194918-a4f1c1d8b008",
            ),
        ),
    )
}


def low_priority() -> bool:
    """Opt-in for shared machines: one package at a time, at the lowest CPU priority."""
    return os.environ.get(LOW_PRIORITY_ENV, "") not in ("", "0")


def go_env() -> dict[str, str]:
    # Default Go parallelism (one compile per core): the AWS provider then peaks at a few GB, well within
    # the machine. GOTOOLCHAIN=local so a module's `go` line never triggers a toolchain download.
    flags = "-buildvcs=false -trimpath" + (" -p=1" if low_priority() else "")
    return {**os.environ, "GOFLAGS": flags, "GOTOOLCHAIN": "local"}


def go_version() -> str:
    if shutil.which("go") is None:
        raise BootstrapError("go not found on PATH: install Go 1.26 (Debian golang-go, or /usr/local/go)")
    return run(["go", "env", "GOVERSION"], what="go env", fix="check the Go installation").strip()


def tool_dir(tool: GoTool) -> Path:
    variant = f"-{tool.variant}" if tool.variant else ""
    return cache_root() / "go-tools" / f"{tool.name}-{tool.version}{variant}-{go_version()}"


def _overlay_flags(tool: GoTool, src: Path) -> list[str]:
    if tool.overlay is None:
        return []
    workdir = cache_root() / "gosrc" / f"{tool.name}-overlay-{tool.variant}"
    return ["-overlay", str(tool.overlay(src, workdir, go_env()))]


def binary_path(tool: GoTool) -> Path:
    return tool_dir(tool) / tool.name


def mirror_root() -> Path:
    return cache_root() / "tofu-mirror"


def mirror_binary(provider: Provider) -> Path:
    return (
        mirror_root()
        / MIRROR_HOST
        / MIRROR_NAMESPACE
        / provider.type
        / provider.version
        / PLATFORM
        / f"terraform-provider-{provider.type}_v{provider.version}"
    )


@contextmanager
def _exclusive(name: str) -> Iterator[None]:
    """Serialise builds of one tool across processes (parallel test workers, two shells)."""
    locks = cache_root() / "locks"
    locks.mkdir(exist_ok=True)
    with (locks / f"{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _use_published_modules(tool: GoTool, src: Path) -> None:
    """Point the local-path `replace` directives the module zip cannot satisfy at published modules."""
    for workspace in ("go.work", "go.work.sum"):  # a workspace of those same local paths
        (src / workspace).unlink(missing_ok=True)
    edits = []
    module = json.loads(
        run(["go", "mod", "edit", "-json"], what="reading go.mod", fix="", cwd=src, env=go_env())
    )
    for replace in module.get("Replace") or []:
        old, new = replace["Old"]["Path"], replace["New"]["Path"]
        if not new.startswith((".", "/")) or (src / new).is_dir():
            continue
        if tool.published_replacements == REQUIRED:
            edits.append(f"-dropreplace={old}")
        else:
            edits.append(f"-replace={old}={old}@{tool.published_replacements}")
    if not edits:
        raise BootstrapError(
            f"{tool.module}@{tool.version} has no local replace to rewrite: check its GoTool"
        )
    run(
        ["go", "mod", "edit", *edits], what=f"rewriting {tool.module}'s go.mod", fix="", cwd=src, env=go_env()
    )


def _source(tool: GoTool) -> Path:
    """A writable copy of the module source at the pinned version."""
    src = cache_root() / "gosrc" / f"{tool.source_name}@{tool.version}"
    if is_complete(src):
        return src
    with _exclusive(f"{tool.source_name}.src"):
        if is_complete(src):
            return src
        discard_partial(src, "incomplete (an earlier copy stopped part way)")
        fix = "check that the Go module proxy is reachable (go env GOPROXY), then rerun"
        out = run(
            ["go", "mod", "download", "-json", f"{tool.module}@{tool.version}"],
            what=f"downloading {tool.module}@{tool.version}",
            fix=fix,
            env=go_env(),
        )
        module_dir = Path(json.loads(out)["Dir"])
        shutil.copytree(module_dir, src, symlinks=True)
        for path in (src, *src.rglob("*")):
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
        if tool.published_replacements:
            _use_published_modules(tool, src)
        # The modules the build imports too (not the whole graph: the proxy here does not serve every one),
        # so a prefetch leaves the compiler nothing to wait for.
        run(
            ["go", "list", *tool.mod_flags, "-deps", tool.package],
            what=f"downloading the modules {tool.name} imports",
            fix=fix,
            cwd=src,
            env=go_env(),
        )
        mark_complete(src)
    return src


def _prefetch(tools: list[GoTool]) -> None:
    """Download every source at once in the background (network-bound) while the first one compiles.

    A failed download is not reported here: the tool's own build downloads again and raises the error.
    """

    def fetch(tool: GoTool) -> None:
        try:
            _source(tool)
        except BootstrapError:
            pass

    for tool in tools:
        if not is_complete(tool_dir(tool)):
            threading.Thread(target=fetch, args=(tool,), daemon=True).start()


def _group_rss_bytes(pgid: int) -> int:
    """Resident memory of every process in the build's process group (go, compile, link)."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command name: state, ppid, pgrp, ..., rss at 21
            total += int(fields[21]) * page
    return total


def _package_count(tool: GoTool, src: Path, overlay: list[str]) -> str:
    """How many packages the build takes in (some may come from the build cache and not be compiled)."""
    listed = subprocess.run(
        ["go", "list", *tool.mod_flags, *overlay, "-deps", tool.package],
        cwd=src,
        env=go_env(),
        capture_output=True,
        text=True,
    )
    return str(len(listed.stdout.split())) if listed.returncode == 0 else "?"


def _build(tool: GoTool, src: Path, out: Path) -> None:
    """`go build -v`: its package lines feed a heartbeat (elapsed, packages compiled, the latest one)."""
    ldflags = f"-s -w {tool.ldflags}".strip()
    overlay = _overlay_flags(tool, src)
    cmd = ["go", "build", *tool.mod_flags, *overlay, "-v", "-ldflags", ldflags, "-o", str(out), tool.package]
    if low_priority():
        cmd = ["nice", "-n", "19", *cmd]
    started = time.monotonic()
    lines: list[str] = []
    peak = 0
    total = _package_count(tool, src, overlay)
    with subprocess.Popen(
        cmd,
        cwd=src,
        env=go_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as proc:
        _BUILDING.add(proc.pid)
        if low_priority():
            yield_cpu(proc.pid)
        done = threading.Event()

        def watch() -> None:
            nonlocal peak
            last_said = time.monotonic()
            while not done.wait(2):
                peak = max(peak, _group_rss_bytes(proc.pid))
                if time.monotonic() - last_said >= HEARTBEAT_SECONDS:
                    last_said = time.monotonic()
                    latest = lines[-1] if lines else "resolving packages"
                    elapsed = time.monotonic() - started
                    say(
                        f"{tool.name}: {elapsed:.0f}s, {len(lines)} of {total} packages compiled, "
                        f"at {latest}, {peak / 2**30:.1f} GiB peak"
                    )

        threading.Thread(target=watch, daemon=True).start()
        for line in proc.stdout or ():
            lines.append(line.strip())
        proc.wait()
        _BUILDING.discard(proc.pid)
        done.set()
    if proc.returncode != 0:
        tail = " | ".join(lines[-5:])
        raise BootstrapError(f"go build of {tool.module}@{tool.version} failed: {tail} -- fix it and rerun")
    seconds = time.monotonic() - started
    say(f"{tool.name}: {len(lines)} packages in {seconds:.0f}s, peak memory {peak / 2**30:.1f} GiB")


def yield_cpu(session_leader: int) -> None:
    """Lowest CPU weight for a build in a session of its own. With autogroup scheduling (Linux's default on
    desktops and these machines) CPU is shared between sessions first, so `nice` alone only orders the
    build's own processes; the session's autogroup weight is what yields to the rest of the machine."""
    try:
        Path(f"/proc/{session_leader}/autogroup").write_text("19")
    except OSError:
        pass  # no autogroup scheduling here: nice alone is the priority


# Process groups of the running `go build`s: they run in sessions of their own, out of a terminal's Ctrl-C.
_BUILDING: set[int] = set()


def stop_builds() -> None:
    for pgid in list(_BUILDING):
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def ensure_tool(tool: GoTool) -> Path:
    """Build `tool` once per (version, Go version); later calls return the cached binary."""
    target = tool_dir(tool)
    if is_complete(target):
        return binary_path(tool)
    with _exclusive(tool.name):
        if is_complete(target):
            return binary_path(tool)
        discard_partial(target, "incomplete (an earlier build stopped part way)")
        mode = (
            "low priority, one package at a time"
            if low_priority()
            else f"full speed, set {LOW_PRIORITY_ENV}=1 to yield"
        )
        with step(
            f"{tool.name} {tool.version} from the Go module proxy ({mode}; first build: {tool.first_build})"
        ):
            src = _source(tool)
            target.mkdir(parents=True)
            _build(tool, src, binary_path(tool))
            mark_complete(target)
    return binary_path(tool)


def ensure_provider(provider: Provider) -> Path:
    """Build the provider and place it in the filesystem mirror (a hard link to the cached build)."""
    built = ensure_tool(provider.tool)
    placed = mirror_binary(provider)
    if placed.exists() and placed.stat().st_ino == built.stat().st_ino:
        return placed
    placed.parent.mkdir(parents=True, exist_ok=True)
    staging = placed.with_name(placed.name + ".tmp")
    staging.unlink(missing_ok=True)
    os.link(built, staging)
    staging.replace(placed)
    say(f"mirror: {provider.type} {provider.version} -> {placed}")
    return placed


def tofu() -> Path:
    return ensure_tool(TOFU)


def helm() -> Path:
    return ensure_tool(HELM)


def kubeconform() -> Path:
    return ensure_tool(KUBECONFORM)


def actionlint() -> Path:
    return ensure_tool(ACTIONLINT)


def providers(names: tuple[str, ...] = tuple(PROVIDERS)) -> None:
    _prefetch([PROVIDERS[name].tool for name in names])
    for name in names:
        ensure_provider(PROVIDERS[name])


KUBE_TOOLS = (ETCD, KUBE_APISERVER, KUBE_CONTROLLER_MANAGER)


def kube() -> None:
    """The local Kubernetes API: etcd, kube-apiserver and kube-controller-manager."""
    _prefetch(list(KUBE_TOOLS))
    for tool in KUBE_TOOLS:
        ensure_tool(tool)


def deploy_toolchain() -> None:
    """What `wh deploy local` applies with, AWS first: OpenTofu, the providers, the local Kubernetes API."""
    _prefetch([TOFU, *(p.tool for p in PROVIDERS.values()), *KUBE_TOOLS])
    tofu()
    providers()
    kube()


def toolchain() -> None:
    """In the order the main job needs them: OpenTofu and the AWS provider first, so a deploy can start."""
    _prefetch([TOFU, *(p.tool for p in PROVIDERS.values()), *KUBE_TOOLS, HELM, KUBECONFORM, ACTIONLINT])
    tofu()
    providers()
    kube()
    helm()
    kubeconform()
    actionlint()
