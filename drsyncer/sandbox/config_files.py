"""File-mode configuration documents for sandbox clusters (used by ``drsyncer demo`` and the tests).

One place writes the RemoteCluster documents that point at a sandbox cluster's kubeconfig (and, when its
agents run, at their SSH port), so every demo and test configuration reaches the clusters the same way.
"""

from __future__ import annotations

from pathlib import Path

API_VERSION = "dr-syncer.io/v1alpha1"


def remote_cluster_yaml(
    name: str, kubeconfig: Path | str, *, context: str | None = None, ssh_port: int | None = None
) -> str:
    """One ``RemoteCluster`` document in file mode; with ``ssh_port``, PVC sync through its agents."""
    document = (
        f"apiVersion: {API_VERSION}\n"
        "kind: RemoteCluster\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n"
        f"  kubeconfig: {{path: {kubeconfig}, context: {context or name}}}\n"
    )
    if ssh_port is not None:
        document += f"  pvcSync: {{enabled: true, ssh: {{port: {ssh_port}}}, addressType: InternalIP}}\n"
    return document
