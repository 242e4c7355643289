"""The `local` environment's Kubernetes API: etcd, kube-apiserver and kube-controller-manager on loopback.

    with LocalKubernetes() as kube:
        subprocess.run(["tofu", "apply", ...], env={**os.environ, **kube.tofu_env()})

Each run makes its own CA and certificates (infra.kube.pki): etcd serves TLS to the API server's client
certificate only, the API server serves TLS on a free 127.0.0.1 port and knows one admin (a bearer token in
the group system:masters), and the kubeconfig written for the run carries both. kube-controller-manager runs
only the namespace controller, which finalizes deleted namespaces (without it a destroyed namespace stays
Terminating), and the garbage collector, which deletes what the deleted objects owned. There is no kubelet
and no scheduler: the API validates, admits and stores (custom resources against their CRDs' schemas), but
no pod is ever run. Everything lives in a temp workdir and is stopped by its own pid; nothing outlives the
run, like the AWS emulator's state.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from infra.bootstrap import gotools
from infra.bootstrap.common import is_complete
from infra.process import ManagedProcess, ServiceError, free_port, service_workdir

if TYPE_CHECKING:  # cryptography is an infra extra: naming the API's variables must not need it
    from . import pki

READY_TIMEOUT = 180.0  # the API server's post-start hooks take 10-40 s on a busy 2-core machine
ADMIN = "waardhaven-admin"
KUBECONFIG_VARIABLE = "TF_VAR_kubeconfig"  # what the stacks' kubernetes/helm providers read in `local`
SERVICE_CIDR = "10.96.0.0/16"  # Services get cluster IPs from here; nothing routes them
# The namespace's deletion, owner references, and the protection finalizer the API puts on every
# PersistentVolumeClaim (removed once no pod uses it; the connectors' state volumes carry it).
CONTROLLERS = "namespace-controller,garbage-collector-controller,persistentvolumeclaim-protection-controller"
BUILD = "`python3 -m infra.bootstrap kube`"


def binary(tool: gotools.GoTool) -> Path:
    if not is_complete(gotools.tool_dir(tool)):
        raise ServiceError(f"{tool.name} {tool.version} is not built: run {BUILD}")
    return gotools.binary_path(tool)


def _status(url: str, context: ssl.SSLContext, token: str | None = None, timeout: float = 2.0) -> int | None:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def _context(ca: Path, client: pki.KeyPair | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        context.load_cert_chain(client.cert, client.key)
    return context


def answers(kubeconfig: Path | str) -> bool:
    """True when the API server a kubeconfig written by LocalKubernetes names is ready for its admin."""
    try:
        config = json.loads(Path(kubeconfig).read_text())
        cluster = config["clusters"][0]["cluster"]
        token = config["users"][0]["user"]["token"]
        context = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
    except (OSError, ValueError, KeyError, IndexError, ssl.SSLError):
        return False
    return _status(f"{cluster['server']}/readyz", context, token) == 200


def require_answering(kubeconfig: Path | str) -> None:
    if not answers(kubeconfig):
        raise ServiceError(
            f"the local Kubernetes API of {kubeconfig} is not answering: start the local environment with "
            f"`bin/wh emulator` and export what it prints, or set neither {KUBECONFIG_VARIABLE} nor "
            "TF_VAR_aws_endpoint and one is started for this run"
        )


class LocalKubernetes:
    """etcd, kube-apiserver, kube-controller-manager; `server`, `kubeconfig`, `tofu_env()` once started."""

    def __init__(self) -> None:
        self.workdir: Path | None = None
        self.processes: list[ManagedProcess] = []
        self.server = ""
        self.kubeconfig: Path | None = None
        self.token = ""

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    def start(self) -> LocalKubernetes:
        if self.processes:
            raise ServiceError(f"the local Kubernetes API is already running at {self.server}")
        binaries = {tool.name: binary(tool) for tool in gotools.KUBE_TOOLS}
        self.workdir = service_workdir("wh-kube-")
        try:
            self._start(binaries, self.workdir)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, binaries: dict[str, Path], work: Path) -> None:
        from . import pki

        ca = pki.CertificateAuthority(work)
        etcd_tls = ca.serving("etcd")
        etcd_client = ca.client("etcd-client", "kube-apiserver-etcd-client")
        etcd_port, peer_port = free_port(), free_port()
        etcd_url = f"https://127.0.0.1:{etcd_port}"
        self._run(
            "etcd",
            [
                binaries["etcd"],
                "--name=local",
                f"--data-dir={work / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=local=http://127.0.0.1:{peer_port}",
                f"--cert-file={etcd_tls.cert}",
                f"--key-file={etcd_tls.key}",
                "--client-cert-auth",
                f"--trusted-ca-file={ca.pair.cert}",
                "--log-level=warn",
                # A throwaway store on a shared disk: fsync would only make every write wait.
                "--unsafe-no-fsync",
            ],
            lambda: _status(f"{etcd_url}/health", _context(ca.pair.cert, etcd_client)) == 200,
        )

        serving = ca.serving("apiserver")
        account_key = pki.signing_key(work)
        self.token = secrets.token_urlsafe(32)
        tokens = work / "tokens.csv"
        tokens.write_text(f'{self.token},{ADMIN},{ADMIN},"system:masters"\n')
        tokens.chmod(0o600)
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        issuer = "https://kubernetes.default.svc"
        self._run(
            "kube-apiserver",
            [
                binaries["kube-apiserver"],
                f"--etcd-servers={etcd_url}",
                f"--etcd-cafile={ca.pair.cert}",
                f"--etcd-certfile={etcd_client.cert}",
                f"--etcd-keyfile={etcd_client.key}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--tls-cert-file={serving.cert}",
                f"--tls-private-key-file={serving.key}",
                f"--client-ca-file={ca.pair.cert}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer={issuer}",
                f"--service-account-key-file={account_key.cert}",
                f"--service-account-signing-key-file={account_key.key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                "--v=1",
            ],
            lambda: _status(f"{self.server}/readyz", _context(ca.pair.cert), self.token) == 200,
        )

        controller = ca.client("controller-manager", "system:kube-controller-manager", "system:masters")
        controller_config = self._write_kubeconfig(work / "controller-manager.kubeconfig", ca, controller)
        controller_tls = ca.serving("controller-manager-serving")
        controller_port = free_port()
        self._run(
            "kube-controller-manager",
            [
                binaries["kube-controller-manager"],
                f"--kubeconfig={controller_config}",
                f"--controllers={CONTROLLERS}",
                "--leader-elect=false",
                "--use-service-account-credentials=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={controller_port}",
                f"--tls-cert-file={controller_tls.cert}",
                f"--tls-private-key-file={controller_tls.key}",
                "--profiling=false",
                "--v=1",
            ],
            lambda: _status(f"https://127.0.0.1:{controller_port}/healthz", _context(ca.pair.cert)) == 200,
        )
        self.kubeconfig = self._write_kubeconfig(work / "kubeconfig", ca)

    def _run(self, name: str, argv: list, ready) -> None:
        assert self.workdir is not None
        process = ManagedProcess(
            f"{name} of the local Kubernetes API",
            argv,
            self.workdir / f"{name}.log",
            cwd=self.workdir,
            grace=10.0,
        ).start()
        self.processes.append(process)
        process.wait_ready(ready, READY_TIMEOUT, interval=0.25)

    def _write_kubeconfig(
        self, path: Path, ca: pki.CertificateAuthority, client: pki.KeyPair | None = None
    ) -> Path:
        def b64(file: Path) -> str:
            return base64.b64encode(file.read_bytes()).decode()

        user = (
            {"client-certificate-data": b64(client.cert), "client-key-data": b64(client.key)}
            if client
            else {"token": self.token}
        )
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {"server": self.server, "certificate-authority-data": b64(ca.pair.cert)},
                }
            ],
            "users": [{"name": ADMIN, "user": user}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": ADMIN}}],
            "current-context": "local",
        }
        path.write_text(
            json.dumps(config, indent=2)
        )  # JSON is YAML: kubectl, the providers and clients read it
        path.chmod(0o600)
        return path

    def tofu_env(self) -> dict[str, str]:
        """What OpenTofu needs to reach this API (the stacks read var.kubeconfig in `local`)."""
        return {KUBECONFIG_VARIABLE: str(self.kubeconfig)}

    def stop(self) -> None:
        for process in reversed(self.processes):  # the controllers, then the API server, then its store
            process.stop()
        self.processes = []
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> LocalKubernetes:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
