"""The sandbox: in-process fake Kubernetes clusters for tests and ``drsyncer demo``.

``FakeCluster`` serves a faithful subset of the Kubernetes API over HTTP(S) on 127.0.0.1, with
simulated nodes, a provisioner and a kubelet (``NodeSpec``), an audit log and fault injection. See
``README.md`` in this folder for the contracts tests can rely on. Only tests and ``drsyncer demo`` /
``drsyncer sandbox`` import this package.
"""

from __future__ import annotations

from drsyncer.sandbox.cluster import FakeCluster
from drsyncer.sandbox.kubelet import SANDBOX_PROVISIONER, NodeSpec

__all__ = ["SANDBOX_PROVISIONER", "FakeCluster", "NodeSpec"]
