"""Drift inside Helm releases: each object a release installed, as it is live in the cluster, against the
manifest Helm recorded for the release's deployed revision.

OpenTofu sees a `helm_release` as its chart and values only (the helm provider's manifest experiment, which
would show the objects, fails a first install: its plan lacks the labels Helm adds), so a change made with
kubectl or the kubernetes client inside a release never reaches a plan. Helm's own record of a release is a
Secret `sh.helm.release.v1.<release>.v<revision>` in the release's namespace, labelled owner=helm,
name=<release>, status=deployed, whose `release` key holds the release as gzipped JSON, base64-encoded by
Helm (and once more by the Secret). Every field the manifest sets is compared with the live object; fields
the cluster adds (status, defaults, managedFields) are not drift. `wh drift` reports the differences and
`wh deploy` puts them back with a merge patch of the manifest's values, as a Helm upgrade's three-way merge
would.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import yaml

from infra.process import ServiceError

from .json_paths import changed_paths
from .stackset import AwsTarget

RELEASE_TYPE = "helm_release"
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class ObjectDrift:
    address: str  # the helm_release in the stack's state
    key: str  # <kind>[.<group>]/<version>/[<namespace>/]<name>, as the helm provider names objects
    namespace: str | None  # None: a cluster-scoped object
    paths: tuple[str, ...]  # fields changed outside the release; () when the object is gone
    document: dict[str, Any]  # the object as the release's manifest has it

    @property
    def attributes(self) -> tuple[str, ...]:
        prefix = f"resources.{self.key}"
        return tuple(f"{prefix}.{path}" for path in self.paths) or (prefix,)


def releases(state: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(address, release name, namespace) of each helm_release in a `tofu show -json` state or plan."""
    module = (state.get("values") or {}).get("root_module") or {}
    return [
        (r["address"], r["values"]["name"], r["values"]["namespace"])
        for r in module.get("resources", [])
        if r["type"] == RELEASE_TYPE and r.get("mode") == "managed"
    ]


def decode_release(encoded: bytes) -> dict[str, Any]:
    """A Helm storage Secret's `release` value (as the API returns it: base64 of Helm's base64) as JSON."""
    raw = base64.b64decode(base64.b64decode(encoded))
    return json.loads(gzip.decompress(raw) if raw.startswith(_GZIP_MAGIC) else raw)


def manifest(core: Any, name: str, namespace: str) -> list[dict[str, Any]]:
    """The objects of release `name`'s deployed revision, from Helm's storage Secret."""
    secrets = core.list_namespaced_secret(
        namespace, label_selector=f"owner=helm,name={name},status=deployed"
    ).items
    if not secrets:
        raise ServiceError(f"Helm release {name!r} has no deployed revision in namespace {namespace!r}")
    latest = max(secrets, key=lambda s: int(s.metadata.labels.get("version", "0")))
    release = decode_release(latest.data["release"].encode())
    return [doc for doc in yaml.safe_load_all(release.get("manifest", "")) if doc]


def object_key(document: dict[str, Any], namespace: str | None) -> str:
    group, _, version = document["apiVersion"].rpartition("/")
    kind = document["kind"].lower() + (f".{group}" if group else "")
    where = f"{namespace}/" if namespace else ""
    return f"{kind}/{version}/{where}{document['metadata']['name']}"


def differences(desired: Any, live: Any) -> list[str]:
    """Paths (a.b[0].c) the desired value sets and the live one does not hold; keys only the live object has
    are the cluster's own, and a zero value (0, "", false, empty) the live object leaves out is the API
    server's omitempty, not a change."""
    return changed_paths(desired, live, keys=_set_by_manifest)


def _set_by_manifest(desired: dict[str, Any], live: dict[str, Any]) -> list[str]:
    return [key for key, value in desired.items() if key in live or not _zero(value)]


def _zero(value: Any) -> bool:
    return value is None or (isinstance(value, bool | int | float | str | list | dict) and not value)


class ReleaseObjects:
    """The cluster a target's helm releases live in, through the kubernetes client."""

    def __init__(self, target: AwsTarget) -> None:
        from kubernetes import client

        self.api = target.kubernetes_client()
        self.core = client.CoreV1Api(self.api)

    @cached_property
    def dynamic(self) -> Any:
        from kubernetes import dynamic

        return dynamic.DynamicClient(self.api)  # discovers the API's kinds: inside _answering only

    def _resource(self, document: dict[str, Any]) -> Any:
        return self.dynamic.resources.get(api_version=document["apiVersion"], kind=document["kind"])

    def _live(self, resource: Any, document: dict[str, Any], namespace: str | None) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        scope = {"namespace": namespace} if namespace else {}
        try:
            return resource.get(name=document["metadata"]["name"], **scope).to_dict()
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    @contextmanager
    def _answering(self, what: str) -> Iterator[None]:
        """An API error or an unreachable cluster ends the command naming what was being done."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            yield
        except ApiException as exc:
            raise ServiceError(
                f"{what}: {self.api.configuration.host} answered {exc.status} {exc.reason}"
            ) from None
        except HTTPError as exc:
            raise ServiceError(f"{what}: {self.api.configuration.host} is not answering ({exc})") from None

    def drift(self, state: dict[str, Any]) -> list[ObjectDrift]:
        """Each object of the state's releases that differs from its release's manifest, or is gone."""
        with self._answering("reading the helm releases' objects"):
            return self._drift(state)

    def _drift(self, state: dict[str, Any]) -> list[ObjectDrift]:
        found = []
        for address, name, release_namespace in releases(state):
            for document in manifest(self.core, name, release_namespace):
                resource = self._resource(document)
                namespace = (
                    document["metadata"].get("namespace", release_namespace) if resource.namespaced else None
                )
                live = self._live(resource, document, namespace)
                paths = () if live is None else tuple(differences(document, live))
                if live is None or paths:
                    key = object_key(document, namespace)
                    found.append(ObjectDrift(address, key, namespace, paths, document))
        return found

    def restore(self, drifted: list[ObjectDrift]) -> None:
        """Put each drifted object back as its release's manifest has it."""
        with self._answering("restoring the helm releases' objects"):
            self._restore(drifted)

    def _restore(self, drifted: list[ObjectDrift]) -> None:
        for d in drifted:
            resource = self._resource(d.document)
            scope = {"namespace": d.namespace} if d.namespace else {}
            if not d.paths:
                resource.create(body=d.document, **scope)
                continue
            resource.patch(
                body=d.document,
                name=d.document["metadata"]["name"],
                content_type="application/merge-patch+json",
                **scope,
            )
