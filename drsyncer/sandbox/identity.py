"""Per-cluster identity: the root CA bundle, ServiceAccount tokens and (optionally) istio's CA bundle.

Objects every real cluster writes into each namespace with *its own* content — so a copy from another
cluster is wrong there, and its publisher writes it back:

- **root-ca-cert-publisher** (kube-controller-manager, always on): ConfigMap ``kube-root-ca.crt`` with
  ``ca.crt`` = this cluster's CA (``cluster.identity.root_ca``, a real self-signed certificate, different
  per cluster). A missing one is recreated; one whose data differs is written back (manager
  ``kube-controller-manager``).
- **tokens controller** (kube-controller-manager, always on): a Secret of type
  ``kubernetes.io/service-account-token`` gets ``token``, ``ca.crt`` and ``namespace`` filled in when its
  ServiceAccount (annotations ``kubernetes.io/service-account.name`` / ``.uid``) exists, and is deleted
  when that ServiceAccount is gone or has another uid (a token copied from another cluster is).
- **legacy token controller** (before Kubernetes 1.24; OpenShift still does similar), optional:
  ``cluster.identity.enable_legacy_tokens()`` → every ServiceAccount gets a token Secret
  ``<sa>-token-xxxxx`` and ``secrets: [{name: <sa>-token-xxxxx}]``.
- **istio's namespace controller** (istiod), optional: ``cluster.identity.enable_istio_ca()`` → every
  namespace except ``kube-system``, ``kube-public`` and ``kube-node-lease`` gets ConfigMap
  ``istio-ca-root-cert`` (``root-cert.pem`` = this cluster's mesh CA, label ``istio.io/config: "true"``,
  manager ``pilot-discovery``); edits are written back.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox import tls
from drsyncer.sandbox.api import Api
from drsyncer.sandbox.owner_references import deleting
from drsyncer.sandbox.status import ApiError

CONTROLLER_MANAGER = "kube-controller-manager"
ISTIOD = "pilot-discovery"
NAMESPACES = ("", "namespaces")
CONFIG_MAPS = ("", "configmaps")
SECRETS = ("", "secrets")
SERVICE_ACCOUNTS = ("", "serviceaccounts")
ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
    "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters."
)
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
ISTIO_CONFIG_MAP = "istio-ca-root-cert"
ISTIO_SKIPPED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
TOKEN_TYPE = "kubernetes.io/service-account-token"  # noqa: S105 - a Secret type, not a secret
SA_NAME = "kubernetes.io/service-account.name"
SA_UID = "kubernetes.io/service-account.uid"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _suffix(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:5])


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Identity:
    """The per-cluster identity publishers of one cluster."""

    def __init__(self, api: Api, cluster_name: str) -> None:
        self.api = api
        self.cluster_name = cluster_name
        self.root_ca = tls.generate(f"{cluster_name}-root").ca_pem.decode()
        self._istio_root: str | None = None
        self.legacy_tokens = False
        self.istio_ca = False

    @property
    def istio_root_cert(self) -> str:
        """This cluster's mesh root certificate (PEM), made on first use."""
        if self._istio_root is None:
            self._istio_root = tls.generate(f"{self.cluster_name}-istio").ca_pem.decode()
        return self._istio_root

    def enable_legacy_tokens(self) -> Identity:
        """Turn on the pre-1.24 token controller (a token Secret per ServiceAccount); returns self."""
        self.legacy_tokens = True
        self._pass_now()
        return self

    def enable_istio_ca(self) -> Identity:
        """Turn on istiod's ``istio-ca-root-cert`` publisher; returns self."""
        self.istio_ca = True
        self._pass_now()
        return self

    def _pass_now(self) -> None:
        """One pass at once: turning a publisher on changes no object, so nothing else would wake it."""
        with contextlib.suppress(ApiError):  # a concurrent background pass won the race; it did the work
            self.reconcile()

    def reset(self) -> None:
        """Optional publishers off."""
        self.legacy_tokens = False
        self.istio_ca = False

    def reconcile(self) -> None:
        """One pass of every publisher that is on."""
        namespaces = [n["metadata"]["name"] for n in self.api.store.list(NAMESPACES) if not deleting(n)]
        for namespace in namespaces:
            self._publish(
                namespace,
                ROOT_CA_CONFIG_MAP,
                data={"ca.crt": self.root_ca},
                manager=CONTROLLER_MANAGER,
                annotations={DESCRIPTION_ANNOTATION: ROOT_CA_DESCRIPTION},
                labels={},
            )
            if self.istio_ca and namespace not in ISTIO_SKIPPED_NAMESPACES:
                self._publish(
                    namespace,
                    ISTIO_CONFIG_MAP,
                    data={"root-cert.pem": self.istio_root_cert},
                    manager=ISTIOD,
                    annotations={},
                    labels={"istio.io/config": "true"},
                )
        self._tokens()
        if self.legacy_tokens:
            for account in self.api.store.list(SERVICE_ACCOUNTS):
                if not deleting(account) and account["metadata"]["namespace"] in namespaces:
                    self._legacy_token(account)

    # ------------------------------------------------------------ config maps

    def _publish(
        self,
        namespace: str,
        name: str,
        *,
        data: dict[str, str],
        manager: str,
        annotations: dict[str, str],
        labels: dict[str, str],
    ) -> None:
        resource = self.api.registry.by_key(CONFIG_MAPS)
        assert resource is not None
        current = self.api.store.get(CONFIG_MAPS, namespace, name)
        if current is None:
            metadata: dict[str, Any] = {"name": name, "namespace": namespace}
            if annotations:
                metadata["annotations"] = dict(annotations)
            if labels:
                metadata["labels"] = dict(labels)
            self.api.create_internal(resource, {"metadata": metadata, "data": dict(data)}, manager=manager)
            return
        if deleting(current):
            return
        present = current["metadata"].get("annotations") or {}
        present_labels = current["metadata"].get("labels") or {}
        if (
            current.get("data") == data
            and all(present.get(k) for k in annotations)
            and all(present_labels.get(k) == v for k, v in labels.items())
        ):
            return
        updated = copy.deepcopy(current)
        updated["data"] = dict(data)
        updated.pop("binaryData", None)
        for key, value in annotations.items():
            if not present.get(key):
                updated["metadata"].setdefault("annotations", {})[key] = value
        if labels:
            updated["metadata"].setdefault("labels", {}).update(labels)
        self.api.update_internal(resource, updated, manager=manager)

    # ------------------------------------------------------------ tokens

    def _tokens(self) -> None:
        """The tokens controller: fill in or delete every ServiceAccount token Secret."""
        resource = self.api.registry.by_key(SECRETS)
        assert resource is not None
        for secret in self.api.store.list(SECRETS):
            if secret.get("type") != TOKEN_TYPE or deleting(secret):
                continue
            metadata = secret["metadata"]
            annotations = metadata.get("annotations") or {}
            account = self.api.store.get(
                SERVICE_ACCOUNTS, metadata["namespace"], annotations.get(SA_NAME, "")
            )
            if account is None or (
                annotations.get(SA_UID) and annotations[SA_UID] != account["metadata"]["uid"]
            ):
                self.api.delete_internal(resource, secret)
                continue
            data = self._token_data(account)
            if all((secret.get("data") or {}).get(k) for k in data) and annotations.get(SA_UID):
                continue
            updated = copy.deepcopy(secret)
            updated["metadata"].setdefault("annotations", {})[SA_UID] = account["metadata"]["uid"]
            updated["data"] = {**data, **{k: v for k, v in (secret.get("data") or {}).items() if v}}
            self.api.update_internal(resource, updated, manager=CONTROLLER_MANAGER)

    def _token_data(self, account: KubeObject) -> dict[str, str]:
        metadata = account["metadata"]
        token = (
            f"sandbox-token.{self.cluster_name}.{metadata['namespace']}.{metadata['name']}.{metadata['uid']}"
        )
        return {"token": _b64(token), "ca.crt": _b64(self.root_ca), "namespace": _b64(metadata["namespace"])}

    def _legacy_token(self, account: KubeObject) -> None:
        metadata = account["metadata"]
        namespace, name, uid = metadata["namespace"], metadata["name"], metadata["uid"]
        secret_name = f"{name}-token-{_suffix(uid)}"
        secrets = self.api.registry.by_key(SECRETS)
        accounts = self.api.registry.by_key(SERVICE_ACCOUNTS)
        assert secrets is not None
        assert accounts is not None
        if self.api.store.get(SECRETS, namespace, secret_name) is None:
            self.api.create_internal(
                secrets,
                {
                    "metadata": {
                        "name": secret_name,
                        "namespace": namespace,
                        "annotations": {SA_NAME: name, SA_UID: uid},
                    },
                    "type": TOKEN_TYPE,
                    "data": self._token_data(account),
                },
                manager=CONTROLLER_MANAGER,
            )
        listed = [s.get("name") for s in account.get("secrets") or []]
        if secret_name not in listed:
            updated = copy.deepcopy(account)
            updated.setdefault("secrets", []).append({"name": secret_name})
            self.api.update_internal(accounts, updated, manager=CONTROLLER_MANAGER)
