"""Building a :class:`~drsyncer.kube.client.KubeClient` for a cluster of the configuration.

Three ways to reach a cluster, as a RemoteCluster says:

- ``spec.kubeconfig {path, context}`` (file mode): that file and that context, whatever the file's
  current-context is; no ``KUBECONFIG`` variable is read.
- ``spec.kubeconfigSecretRef {name, namespace, key}`` (controller-cluster mode): the kubeconfig stored
  in a Secret of the controller cluster.
- ``spec.inCluster: true``: the service account of the pod we run in.

Nothing here touches the ``kubernetes`` library's global default configuration.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml
from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration
from kubernetes.config.config_exception import ConfigException
from urllib3.util.retry import Retry

from drsyncer.config.effective import ClusterRef
from drsyncer.errors import ClusterError
from drsyncer.kube.client import KubeClient, object_path


def transport_retries() -> Retry:
    """urllib3's retries for a cluster's connection pool: its default three retries of a failed connection
    of an idempotent request (a dropped keep-alive socket), but no retries of answers. By default urllib3
    also silently retries 429/503 answers that carry ``Retry-After``, before
    :class:`~drsyncer.kube.client.KubeClient` sees them: outside its backoff policy and its retry count
    in the sync report."""
    return Retry(total=3, respect_retry_after_header=False)


def client_from_kubeconfig_file(cluster: str, path: Path, context: str | None) -> KubeClient:
    """A client for ``cluster`` from a kubeconfig file and (optionally) a context in it."""
    if not path.is_file():
        raise ClusterError(
            f"cluster {cluster!r}: kubeconfig file {str(path)!r} does not exist",
            fix=f"set spec.kubeconfig.path of RemoteCluster {cluster!r} to an existing kubeconfig file",
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ClusterError(
            f"cluster {cluster!r}: cannot read kubeconfig {str(path)!r}: {_without_content(error)}",
            fix="point spec.kubeconfig.path at a valid kubeconfig file",
        ) from error
    return client_from_kubeconfig_dict(cluster, document, context, base_dir=path.parent, origin=str(path))


def client_from_kubeconfig_dict(
    cluster: str,
    document: Any,
    context: str | None,
    *,
    base_dir: Path | None = None,
    origin: str = "kubeconfig",
) -> KubeClient:
    """A client from an already-parsed kubeconfig document."""
    if not isinstance(document, dict) or "contexts" not in document:
        raise ClusterError(
            f"cluster {cluster!r}: {origin} is not a kubeconfig (no contexts)",
            fix="use a kubeconfig as written by kubectl (clusters, users, contexts)",
        )
    known = [str(entry.get("name")) for entry in document.get("contexts") or [] if isinstance(entry, dict)]
    if context and context not in known:
        raise ClusterError(
            f"cluster {cluster!r}: context {context!r} is not in {origin} "
            f"(it has: {', '.join(known) or 'none'})",
            fix="set spec.kubeconfig.context to one of the contexts listed",
        )
    configuration = Configuration()
    configuration.retries = transport_retries()
    try:
        loader = kube_config.kube_config.KubeConfigLoader(
            config_dict=document,
            active_context=context,
            config_base_path=str(base_dir) if base_dir else "",
        )
        loader.load_and_set(configuration)
    except (ConfigException, ValueError, KeyError, TypeError) as error:
        raise ClusterError(
            f"cluster {cluster!r}: {origin} cannot be used: {error}",
            fix="check the kubeconfig's cluster, user and context entries",
        ) from error
    return KubeClient(api_client=ApiClient(configuration), cluster=cluster)


def client_in_cluster(cluster: str) -> KubeClient:
    """A client from the pod's service account (``spec.inCluster: true``)."""
    configuration = Configuration()
    configuration.retries = transport_retries()
    try:
        kube_config.incluster_config.InClusterConfigLoader(
            token_filename=kube_config.incluster_config.SERVICE_TOKEN_FILENAME,
            cert_filename=kube_config.incluster_config.SERVICE_CERT_FILENAME,
        ).load_and_set(configuration)
    except ConfigException as error:
        raise ClusterError(
            f"cluster {cluster!r}: in-cluster configuration is not available: {error}",
            fix="run inside a Kubernetes pod, or give RemoteCluster a kubeconfig instead of inCluster",
        ) from error
    return KubeClient(api_client=ApiClient(configuration), cluster=cluster)


def client_from_secret(
    cluster: str, controller: KubeClient, *, name: str, namespace: str, key: str = "kubeconfig"
) -> KubeClient:
    """A client from a kubeconfig stored in a Secret of the controller cluster."""
    secret = controller.get(
        object_path(group="", version="v1", plural="secrets", namespace=namespace, name=name)
    )
    where = f"Secret {namespace}/{name} in cluster {controller.cluster!r}"
    if secret is None:
        raise ClusterError(
            f"cluster {cluster!r}: kubeconfig {where} does not exist",
            fix=f"create it (kubectl -n {namespace} create secret generic {name} "
            f"--from-file={key}=KUBECONFIG) or fix spec.kubeconfigSecretRef",
        )
    encoded = (secret.get("data") or {}).get(key)
    if not encoded:
        raise ClusterError(
            f"cluster {cluster!r}: {where} has no key {key!r}",
            fix=f"store the kubeconfig under key {key!r} or set spec.kubeconfigSecretRef.key",
        )
    try:
        document = yaml.safe_load(base64.b64decode(encoded))
    except (ValueError, yaml.YAMLError) as error:
        raise ClusterError(
            f"cluster {cluster!r}: {where} key {key!r} is not a kubeconfig: {_without_content(error)}",
            fix="store a kubeconfig file in the Secret",
        ) from error
    return client_from_kubeconfig_dict(cluster, document, None, origin=where)


def connect_cluster(ref: ClusterRef, *, controller: KubeClient | None = None) -> KubeClient:
    """A client for a RemoteCluster of the configuration, by whichever way its spec names."""
    spec = ref.spec
    if spec.kubeconfig is not None:
        return client_from_kubeconfig_file(ref.name, Path(spec.kubeconfig.path), spec.kubeconfig.context)
    if spec.in_cluster:
        return client_in_cluster(ref.name)
    secret_ref = spec.kubeconfig_secret_ref
    if secret_ref is None:  # pragma: no cover - the config model requires one of the three
        raise ClusterError(f"cluster {ref.name!r} has no connection settings", fix="set spec.kubeconfig")
    if controller is None:
        raise ClusterError(
            f"cluster {ref.name!r} keeps its kubeconfig in Secret {secret_ref.namespace or ref.namespace}/"
            f"{secret_ref.name}, which is only readable in controller-cluster mode",
            fix="run with --from-cluster --kubeconfig CONTROLLER_KUBECONFIG, or give the RemoteCluster "
            "spec.kubeconfig {path, context} for file mode",
        )
    return client_from_secret(
        ref.name,
        controller,
        name=secret_ref.name,
        namespace=secret_ref.namespace or ref.namespace,
        key=secret_ref.key or "kubeconfig",
    )


def _without_content(error: Exception) -> str:
    """An error reading a kubeconfig, naming only where (line, column), never the text there.

    PyYAML's messages quote the offending line, which in a kubeconfig can be a ``client-key-data:`` or
    ``token:`` line: a secret in a log.
    """
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(error, yaml.YAMLError):
        return "invalid YAML"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return type(error).__name__
