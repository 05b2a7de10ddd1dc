"""Size limits: the largest request body and the largest object a real cluster accepts.

Upstream behaviour reproduced:

- kube-apiserver reads at most ``MaxRequestBodyBytes`` (3 MiB by default) of a write's body
  (``k8s.io/apiserver/pkg/endpoints/handlers/rest.go`` ``limitedReadBody``); a larger one is refused with
  ``413`` ``RequestEntityTooLarge``, message ``Request entity too large: limit is 3145728``.
- etcd refuses a value over its ``--max-request-bytes`` (1.5 MiB by default) with
  ``etcdserver: request is too large``; the API server passes that through as a ``500`` ``Status`` with
  an empty reason and that message (``ErrorToAPIStatus``: an error that is not an ``APIStatus``). This
  is what a ConfigMap or Secret of ~1.5 MiB meets.

:class:`SizeLimits` is one cluster's pair of limits (test-settable, restored by ``reset()``): the server
calls :meth:`SizeLimits.check_body` for every request body, and :meth:`SizeLimits.admit` runs as an
admission hook on every create and update.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from drsyncer.objects import KubeObject
from drsyncer.sandbox import status as errors
from drsyncer.sandbox.resources import ResourceType

BODY_LIMIT = 3 * 1024 * 1024
"""kube-apiserver's default ``MaxRequestBodyBytes``."""
OBJECT_LIMIT = 1_572_864
"""etcd's default ``--max-request-bytes`` (1.5 MiB)."""
TOO_LARGE = "etcdserver: request is too large"


@dataclass
class SizeLimits:
    """The request body and object size limits of one sandbox cluster."""

    body_bytes: int = BODY_LIMIT
    object_bytes: int = OBJECT_LIMIT

    def check_body(self, size: int) -> None:
        """Refuse a request body over the limit with the API server's 413."""
        if size > self.body_bytes:
            raise errors.ApiError(
                413, "RequestEntityTooLarge", f"Request entity too large: limit is {self.body_bytes}"
            )

    def admit(self, resource: ResourceType, obj: KubeObject, old: KubeObject | None) -> None:
        """Refuse to store an object over the limit, as etcd does (500, empty reason)."""
        if len(json.dumps(obj, separators=(",", ":"))) > self.object_bytes:
            raise errors.ApiError(500, "", TOO_LARGE)

    def reset(self) -> None:
        """Back to the real defaults."""
        self.body_bytes = BODY_LIMIT
        self.object_bytes = OBJECT_LIMIT
