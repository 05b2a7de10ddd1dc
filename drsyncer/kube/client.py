"""A small generic Kubernetes client over the official ``kubernetes`` library's transport.

Every request dr-syncer makes goes through :class:`KubeClient`: it builds requests with the official
client's ``ApiClient`` (authentication, TLS, proxies exactly as ``kubectl`` configures them), speaks
JSON dictionaries (the pipeline's :data:`~drsyncer.objects.KubeObject`), retries what is worth retrying
and turns failures into errors that name the cluster and the fix.

Retried: 429 (honouring ``Retry-After``), 500/502/503/504, connection refused/reset and timeouts —
with exponential backoff and jitter. Never retried: 4xx other than 429 (the caller decides: a 409 on
apply, a 422 "field is immutable", a 404).

Consumers: :mod:`drsyncer.kube.discovery`, the tasks (discover, apply, prune, data) and the flows.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import urllib3

from drsyncer.errors import ClusterError, TransientClusterError
from drsyncer.kube.access import Access, forbidden_line, refused_access, requested_access
from drsyncer.objects import KubeObject

if TYPE_CHECKING:  # the library (~0.1 s) is imported by kube.connect, which builds the ApiClient
    from kubernetes.client import ApiClient

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_WARNING = re.compile(r'\d{3} \S+ "((?:[^"\\]|\\.)*)"')


class ApiError(ClusterError):
    """The API server answered with a Status error (4xx/5xx).

    ``status`` is the HTTP code, ``reason`` the Status reason (``NotFound``, ``Conflict``, ``Invalid``...)
    and ``body`` the decoded Status object.
    """

    def __init__(self, cluster: str, status: int, body: dict[str, Any], *, what: str) -> None:
        self.cluster = cluster
        self.status = status
        self.body = body
        self.reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
        detail = body.get("message", "") if isinstance(body, dict) else str(body)
        super().__init__(f"cluster {cluster!r}: {what}: {status} {self.reason}: {detail}".rstrip(": "))

    @property
    def is_not_found(self) -> bool:
        """True for 404."""
        return self.status == 404

    @property
    def is_conflict(self) -> bool:
        """True for 409 (stale resourceVersion or field-manager conflict)."""
        return self.status == 409

    @property
    def is_too_large(self) -> bool:
        """True when the object or request is over the API server's size limits: a 413 (request body
        over 3 MiB), or etcd's ``request is too large`` passed through as a 500."""
        message = str(self.body.get("message", "")) if isinstance(self.body, dict) else ""
        return self.status == 413 or (self.status == 500 and "request is too large" in message)

    @property
    def is_immutable_field(self) -> bool:
        """True for a 422 that says a field is immutable."""
        if self.status != 422:
            return False
        text = json.dumps(self.body).lower()
        return "immutable" in text or "forbidden: updates to" in text or "cannot change roleref" in text


@dataclass(frozen=True)
class RetryPolicy:
    """How transient request failures are retried: ``attempts`` tries in all, exponential backoff."""

    attempts: int = 6
    initial_delay: float = 0.2
    max_delay: float = 10.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int, *, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        base = min(self.initial_delay * self.multiplier ** (attempt - 1), self.max_delay)
        return base * (1 + rng.uniform(-self.jitter, self.jitter))


class ForbiddenError(ApiError):
    """403 Forbidden: the message names the cluster, the verb, the resource and the RBAC rule to grant."""

    def __init__(
        self, cluster: str, body: dict[str, Any], *, what: str, access: Access, role_file: str
    ) -> None:
        super().__init__(cluster, 403, body, what=what)
        self.access = access
        self.message = forbidden_line(cluster, access, role_file=role_file)
        self.args = (self.message,)


@dataclass
class KubeClient:
    """One cluster, reached through the official client's ``ApiClient``.

    Args:
        api_client: a configured ``kubernetes.client.ApiClient`` (see :mod:`drsyncer.kube.connect`).
        cluster: the cluster's name in our configuration, used in every message.
        retry: the retry policy for transient failures.
        sleep: injectable sleep (tests pass a recorder).
    """

    api_client: ApiClient
    cluster: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    request_timeout: float = 60.0
    warnings: list[str] = field(default_factory=list)
    """The API server's ``Warning`` headers (deprecations, ...), each text once, in arrival order."""
    retries: list[str] = field(default_factory=list)
    """One line per retried request (``what: cause``), in order; the sync report counts them."""
    role_file: str = ""
    """The shipped RBAC role this cluster needs in its part (a 403 tells the user to extend it)."""

    @property
    def host(self) -> str:
        """The API server URL."""
        return str(self.api_client.configuration.host)

    # --- raw requests -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str = JSON,
        what: str = "",
        timeout: float | None = None,
        attempts: int | None = None,
    ) -> Any:
        """Send one request, retrying transient failures; return the decoded JSON body.

        ``timeout`` (seconds) and ``attempts`` override the client's defaults for this request (discovery
        of optional API groups uses short ones). Every ``Warning`` header the API server sends is kept
        in :attr:`warnings`.
        """
        what = what or f"{method} {path}"
        attempts = attempts or self.retry.attempts
        attempt = 0
        while True:
            attempt += 1
            try:
                status, headers, data = self._send(
                    method, path, query=query, body=body, content_type=content_type, timeout=timeout
                )
            except (urllib3.exceptions.HTTPError, OSError) as error:
                if attempt >= attempts:
                    raise self._unreachable(error) from error
                self.retries.append(f"{what}: {_short(error)}")
                self.sleep(self.retry.delay(attempt, retry_after=None, rng=self.rng))
                continue
            self._keep_warnings(headers)
            if 200 <= status < 300:
                return json.loads(data) if data else {}
            decoded = _decode_status(data)
            if status == 500 and "request is too large" in str(decoded.get("message", "")):
                raise ApiError(self.cluster, status, decoded, what=what)  # the same body fails again
            if status in _RETRIED_STATUSES and attempt < attempts:
                self.retries.append(f"{what}: {status}")
                self.sleep(self.retry.delay(attempt, retry_after=_retry_after(headers), rng=self.rng))
                continue
            if status in _RETRIED_STATUSES:
                raise TransientClusterError(
                    f"cluster {self.cluster!r}: {what}: {status} after {attempt} attempts: "
                    f"{decoded.get('message', '')}",
                    fix="the API server is overloaded or failing; the next run retries",
                )
            if status == 403:
                access = refused_access(
                    requested_access(method, path, query),
                    apply=content_type == APPLY_PATCH,
                    message=str(decoded.get("message", "")),
                )
                raise ForbiddenError(
                    self.cluster, decoded, what=what, access=access, role_file=self.role_file
                )
            raise ApiError(self.cluster, status, decoded, what=what)

    def stream_lines(
        self, path: str, *, query: list[tuple[str, Any]], timeout: float | None = None
    ) -> Iterator[bytes]:
        """GET ``path`` and yield the response body line by line (for watches). No retries."""
        url, headers = self._prepare("GET", path, query=query, content_type=JSON)
        response = self.api_client.call_api(
            "GET", url, header_params=headers, _request_timeout=(10, timeout) if timeout else None
        )
        raw = response.response
        try:
            if not 200 <= response.status < 300:
                decoded = _decode_status(raw.read())
                if response.status == 403:
                    access = requested_access("GET", path, [*query, ("watch", "true")])
                    raise ForbiddenError(
                        self.cluster, decoded, what=f"watch {path}", access=access, role_file=self.role_file
                    )
                raise ApiError(self.cluster, response.status, decoded, what=f"watch {path}")
            buffer = b""
            for chunk in raw.stream(amt=None, decode_content=False):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield line
            if buffer.strip():
                yield buffer
        finally:
            raw.release_conn()

    def _prepare(
        self, method: str, path: str, *, query: list[tuple[str, Any]] | None, content_type: str
    ) -> tuple[str, dict[str, str]]:
        headers = {"Accept": JSON, "Content-Type": content_type}
        _, url, headers, _, _ = self.api_client.param_serialize(
            method,
            path,
            query_params=list(query or []),
            header_params=headers,
            auth_settings=["BearerToken"],
        )
        return url, headers

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None,
        body: Any,
        content_type: str,
        timeout: float | None = None,
    ) -> tuple[int, Any, bytes]:
        url, headers = self._prepare(method, path, query=query, content_type=content_type)
        # The official client JSON-encodes bodies of JSON content types itself (a pre-encoded string would
        # arrive as a JSON string literal); only apply-patch YAML bodies go as text.
        payload = None if body is None else (json.dumps(body) if content_type == APPLY_PATCH else body)
        response = self.api_client.call_api(
            method, url, header_params=headers, body=payload, _request_timeout=timeout or self.request_timeout
        )
        data = response.read()
        return response.status, response.headers, data or b""

    def _keep_warnings(self, headers: Any) -> None:
        for text in warning_texts(headers):
            if text not in self.warnings:
                self.warnings.append(text)

    def _unreachable(self, error: BaseException) -> ClusterError:
        return ClusterError(
            f"cannot reach cluster {self.cluster!r} at {self.host}: {_short(error)}",
            fix=f"check that the API server is running and that the kubeconfig of cluster {self.cluster!r} "
            "points at it (server URL, context, credentials)",
        )

    # --- typed helpers ---------------------------------------------------------------------

    def get(self, path: str) -> KubeObject | None:
        """GET one object; ``None`` when it does not exist."""
        try:
            result: KubeObject = self.request("GET", path)
        except ApiError as error:
            if error.is_not_found:
                return None
            raise
        return result

    def list(
        self,
        path: str,
        *,
        label_selector: str = "",
        field_selector: str = "",
        page_size: int = 500,
    ) -> tuple[list[KubeObject], str]:
        """List every object at a collection ``path`` following ``continue``; return items and list RV.

        A continue token the API server has compacted away (``410 Expired`` while paging) restarts the
        list from the first page, once; a second expiry is a :class:`ClusterError`.
        """
        items: list[KubeObject] = []
        token = ""
        resource_version = ""
        restarted = False
        while True:
            query: list[tuple[str, Any]] = [("limit", page_size)]
            if token:
                query.append(("continue", token))
            if label_selector:
                query.append(("labelSelector", label_selector))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            try:
                page = self.request("GET", path, query=query, what=f"list {path}")
            except ApiError as error:
                if error.status != 410 or not token:
                    raise
                if restarted:
                    raise ClusterError(
                        f"cluster {self.cluster!r}: list {path}: the continue token expired twice "
                        "(410 Expired): the API server compacts its history faster than one list of "
                        f"{page_size}-object pages is read",
                        fix="run the sync again; if it keeps happening, lengthen the API server's etcd "
                        "compaction interval",
                    ) from error
                restarted, items, token = True, [], ""
                continue
            items.extend(page.get("items") or [])
            metadata = page.get("metadata") or {}
            resource_version = str(metadata.get("resourceVersion", ""))
            token = str(metadata.get("continue") or "")
            if not token:
                return items, resource_version

    def apply(
        self, path: str, obj: KubeObject, *, field_manager: str, force: bool = False, dry_run: bool = False
    ) -> KubeObject:
        """Server-side apply ``obj`` at its object ``path``.

        With ``fieldValidation=Strict``: a field DR's API server does not know (an older Kubernetes or CRD
        version) fails the object instead of being dropped with only a warning.
        """
        query: list[tuple[str, Any]] = [("fieldManager", field_manager), ("fieldValidation", "Strict")]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        result: KubeObject = self.request(
            "PATCH", path, query=query, body=obj, content_type=APPLY_PATCH, what=f"apply {path}"
        )
        return result

    def patch(
        self, path: str, patch: Any, *, content_type: str = MERGE_PATCH, field_manager: str = ""
    ) -> KubeObject:
        """PATCH an object (merge patch by default)."""
        query = [("fieldManager", field_manager)] if field_manager else []
        result: KubeObject = self.request(
            "PATCH", path, query=query, body=patch, content_type=content_type, what=f"patch {path}"
        )
        return result

    def create(self, collection_path: str, obj: KubeObject, *, field_manager: str = "") -> KubeObject:
        """POST ``obj`` to a collection."""
        query = [("fieldManager", field_manager)] if field_manager else []
        result: KubeObject = self.request(
            "POST", collection_path, query=query, body=obj, what=f"create in {collection_path}"
        )
        return result

    def delete(self, path: str, *, propagation_policy: str = "Background") -> bool:
        """DELETE an object; ``False`` when it was already gone."""
        try:
            self.request(
                "DELETE",
                path,
                body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation_policy},
                what=f"delete {path}",
            )
        except ApiError as error:
            if error.is_not_found:
                return False
            raise
        return True

    def close(self) -> None:
        """Release the connection pool."""
        self.api_client.close()


def object_path(
    *,
    group: str,
    version: str,
    plural: str,
    namespace: str | None,
    name: str | None = None,
    subresource: str = "",
) -> str:
    """The REST path of a collection (``name=None``) or object."""
    prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    parts = [prefix]
    if namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(plural)
    if name:
        parts.append(quote(name, safe=""))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


def _decode_status(data: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(data)
    except (ValueError, TypeError):
        return {"message": data.decode("utf-8", "replace")[:500] if isinstance(data, bytes) else str(data)}
    return decoded if isinstance(decoded, dict) else {"message": str(decoded)}


def warning_texts(headers: Any) -> list[str]:
    """The texts of an HTTP response's ``Warning`` headers (RFC 7234 ``299 - "text"``, as kube-apiserver
    sends them); several headers or one comma-joined header both work."""
    if headers is None:
        return []
    getter = getattr(headers, "getlist", None) or getattr(headers, "get_all", None)
    values = list(getter("Warning") or []) if getter is not None else [headers.get("Warning")]
    texts: list[str] = []
    for value in values:
        if value:
            texts.extend(match.replace('\\"', '"') for match in _WARNING.findall(str(value)))
    return texts


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _short(error: BaseException) -> str:
    text = str(error)
    for marker in ("Connection refused", "Connection reset", "timed out", "Name or service not known"):
        if marker.lower() in text.lower():
            return marker.lower()
    return text.splitlines()[0][:200] if text else type(error).__name__
