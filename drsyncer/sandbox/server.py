"""The HTTP face of a sandbox cluster: request parsing, auth, faults, routing, audit and responses.

A stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive and exact ``Content-Length`` (watch
streams use chunked encoding), ``TCP_NODELAY`` on every connection (without it each request costs
~40 ms), optional TLS and bearer-token auth. Each request is: fault rules → route → :class:`Api` verb →
JSON (a ``Status`` for every failure) → audit entry.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from drsyncer.objects import KubeObject
from drsyncer.sandbox import conversion, discovery, pod_logs, printing, watch
from drsyncer.sandbox import status as errors
from drsyncer.sandbox.aggregated import ProxyRefusal
from drsyncer.sandbox.api import APPLY_PATCH, WriteOptions, manager_from_user_agent, yaml_or_json
from drsyncer.sandbox.audit import AuditEntry
from drsyncer.sandbox.field_validation import validate_body
from drsyncer.sandbox.resources import ResourceType
from drsyncer.sandbox.scale import from_scale, paths_from_crd, to_scale
from drsyncer.sandbox.versions import resource_for_path, warning_header

if TYPE_CHECKING:
    from drsyncer.sandbox.cluster import FakeCluster


@dataclass
class Response:
    """A JSON response or a stream of chunks."""

    code: int
    body: Any = None
    stream: Iterator[bytes] | None = None
    headers: dict[str, str] | None = None
    content_type: str = "application/json"


class SandboxHTTPServer(ThreadingHTTPServer):
    """The listening server; knows its cluster and its open connections (closed on stop)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, cluster: FakeCluster) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.cluster = cluster
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close_connections(self) -> None:
        """Shut down every open client connection."""
        with self.connections_lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


NOT_FOUND = errors.ApiError(404, "NotFound", "the server could not find the requested resource", details={})


class Handler(BaseHTTPRequestHandler):
    """One connection; one request at a time."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: SandboxHTTPServer
    server_version = "sandbox-apiserver"

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log (the audit log records requests)."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        cluster = self.server.cluster
        split = urlsplit(self.path)
        path, query = split.path, dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        user_agent = self.headers.get("User-Agent", "")
        started = time.time()
        fault = cluster.faults.take(self.command, path, split.query)
        if fault is not None and fault.compact:
            cluster.store.next_version()  # another client's write, then etcd compaction
            cluster.compact()
        if fault is not None:
            if fault.latency:
                time.sleep(fault.latency)
            if fault.reset:
                self._reset(path, query, raw, user_agent, content_type, started)
                return
        warnings: list[str] = []
        try:
            cluster.rbac.check(
                self.command, path, query, self.headers.get("Authorization", ""), admin_token=cluster.token
            )
            if fault is not None and fault.status:
                raise _fault_error(fault.status, fault.retry_after)
            cluster.limits.check_body(len(raw))
            body, warnings = _validate_fields(cluster, self.command, path, query, raw, content_type)
            with cluster.priority.seat(long_running=watch.is_watch(query)):
                refusal = cluster.aggregated.intercept(path)
                if refusal is not None:
                    raise _RefusedError(refusal)
                response = route(
                    cluster,
                    self.command,
                    path,
                    query,
                    body,
                    content_type,
                    user_agent,
                    self.headers.get("Accept", ""),
                )
        except errors.ApiError as exc:
            response = Response(exc.code, exc.status(), headers=exc.headers)
        except _RefusedError as refused:
            answer = refused.refusal
            response = Response(
                answer.code,
                answer.text.encode(),
                headers=dict(answer.headers),
                content_type=answer.content_type,
            )
        except Exception as exc:
            response = Response(500, errors.ApiError(500, "InternalError", f"sandbox: {exc!r}").status())
        _add_warnings(cluster, path, response, warnings)
        cluster.audit.record(
            AuditEntry(
                self.command,
                path,
                query,
                raw,
                user_agent,
                content_type,
                response.code,
                started,
            )
        )
        self._send(response)

    def _reset(
        self, path: str, query: dict[str, str], raw: bytes, user_agent: str, content_type: str, started: float
    ) -> None:
        self.server.cluster.audit.record(
            AuditEntry(
                self.command,
                path,
                query,
                raw,
                user_agent,
                content_type,
                0,
                started,
            )
        )
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _send(self, response: Response) -> None:
        self.send_response(response.code)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in (response.headers or {}).items():
            self.send_header(name, value)
        if response.stream is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in response.stream:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, OSError):
                self.close_connection = True
            return
        payload = (
            response.body
            if isinstance(response.body, bytes)
            else json.dumps(response.body, separators=(",", ":")).encode()
        )
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _validate_fields(
    cluster: FakeCluster, method: str, path: str, query: dict[str, str], raw: bytes, content_type: str
) -> tuple[bytes, list[str]]:
    """Server-side field validation of a write's body (see :mod:`.field_validation`)."""
    resource = resource_for_path(cluster.registry, path) if method in ("POST", "PUT", "PATCH") else None
    if resource is None:
        return raw, []
    return validate_body(resource, raw, content_type, query.get("fieldValidation", ""))


def _add_warnings(cluster: FakeCluster, path: str, response: Response, texts: list[str]) -> None:
    """``Warning`` headers: field validation's, and the API version's deprecation (see :mod:`.versions`)."""
    resource = resource_for_path(cluster.registry, path)
    deprecation = cluster.versions.warning(resource) if resource is not None else None
    texts = [*texts, *([deprecation] if deprecation else [])]
    if texts:
        value = ", ".join(warning_header(text) for text in texts)
        response.headers = {**(response.headers or {}), "Warning": value}


class _RefusedError(Exception):
    """The aggregator refused a request to an unavailable aggregated API (see :mod:`.aggregated`)."""

    def __init__(self, refusal: ProxyRefusal) -> None:
        super().__init__(refusal.text)
        self.refusal = refusal


def _fault_error(code: int, retry_after: int | None) -> errors.ApiError:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if code == 429:
        error = errors.ApiError(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
            headers=headers,
        )
        error.details = {"retryAfterSeconds": retry_after or 1}
        return error
    if code == 503:
        return errors.ApiError(
            503, "ServiceUnavailable", "the server is currently unable to handle the request", headers=headers
        )
    if code == 504:
        return errors.ApiError(
            504, "Timeout", "the server was unable to return a response in the time allotted", headers=headers
        )
    return errors.ApiError(code, "InternalError", "Internal error occurred: injected fault", headers=headers)


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return {}
    try:
        if "yaml" in content_type:
            return yaml_or_json(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"error decoding request body: {exc}") from exc


def _delete_options(body: Any, query: dict[str, str]) -> KubeObject:
    """DeleteOptions from the body, with query parameters (as clients send them) taking part."""
    options: KubeObject = dict(body) if isinstance(body, dict) else {}
    if "propagationPolicy" in query:
        options["propagationPolicy"] = query["propagationPolicy"]
    if "orphanDependents" in query:
        options["orphanDependents"] = query["orphanDependents"].lower() == "true"
    if "gracePeriodSeconds" in query:
        options["gracePeriodSeconds"] = int(query["gracePeriodSeconds"])
    return options


def _options(query: dict[str, str], user_agent: str, subresource: str) -> WriteOptions:
    dry_run = query.get("dryRun", "")
    if dry_run not in ("", "All"):
        raise errors.bad_request(f'Invalid dry run value: "{dry_run}", supported values: "All"')
    force = query.get("force", "")
    return WriteOptions(
        dry_run=dry_run == "All",
        manager=query.get("fieldManager", ""),
        force=force.lower() in ("true", "1"),
        subresource=subresource,
    )


def _discovery(cluster: FakeCluster, parts: list[str]) -> Response | None:
    registry = cluster.registry
    document: KubeObject | None = None
    if parts == ["version"]:
        document = cluster.versions.version_document()
    elif parts == ["api"]:
        document = discovery.api_versions(f"127.0.0.1:{cluster.port}")
    elif parts == ["apis"]:
        document = discovery.api_group_list(registry)
    elif len(parts) == 2 and parts[0] == "api":
        document = discovery.api_resource_list(registry, "", parts[1])
        if document is None:
            raise NOT_FOUND
    elif len(parts) == 2 and parts[0] == "apis":
        document = discovery.api_group(registry, parts[1])
        if document is None:
            raise NOT_FOUND
    elif len(parts) == 3 and parts[0] == "apis":
        document = discovery.api_resource_list(registry, parts[1], parts[2])
        if document is None:
            raise NOT_FOUND
    elif parts and parts[0] in ("healthz", "livez", "readyz"):
        return Response(200, b"ok", content_type="text/plain; charset=utf-8")
    return None if document is None else Response(200, document)


def route(
    cluster: FakeCluster,
    method: str,
    path: str,
    query: dict[str, str],
    raw: bytes,
    content_type: str,
    user_agent: str,
    accept: str = "",
) -> Response:
    """Dispatch one request to discovery or a verb; raises ApiError for failures."""
    parts = [p for p in path.split("/") if p]
    if method == "GET":
        found = _discovery(cluster, parts)
        if found is not None:
            return found
    if len(parts) < 3 or parts[0] not in ("api", "apis") or (parts[0] == "apis" and len(parts) < 4):
        raise NOT_FOUND
    if parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    else:
        group, version, rest = parts[1], parts[2], parts[3:]
    namespace: str | None = None
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        raise NOT_FOUND
    resource = cluster.registry.lookup(group, version, rest[0])
    if resource is None or (namespace is not None and not resource.namespaced):
        raise NOT_FOUND
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if subresource and subresource not in resource.subresources:
        raise NOT_FOUND
    if name and resource.namespaced and namespace is None:
        raise NOT_FOUND
    if not subresource and _verb(method, name, query) not in resource.verbs:
        raise errors.method_not_allowed()  # read-only and create-only resources (their discovery verbs)
    api = cluster.api
    options = _options(query, user_agent, subresource) if method != "GET" else WriteOptions()
    if not options.manager and method != "GET":
        if method == "PATCH" and content_type.startswith(APPLY_PATCH):
            pass
        else:
            options.manager = manager_from_user_agent(user_agent)
    scoped = namespace or ""
    collection_post = method == "POST" and not name and (namespace is not None or not resource.namespaced)
    if (
        conversion.converts(resource)
        and (collection_post or (method in ("PUT", "PATCH") and name))
        and not subresource
    ):
        code, written = conversion.converted_write(
            api, resource, scoped, name, method=method, raw=raw, content_type=content_type, options=options
        )
        return Response(code, written)
    if not name:
        if method == "GET":
            if watch.is_watch(query):
                events = watch.stream(
                    api, resource, namespace, query, bookmark_interval=cluster.bookmark_interval
                )
                return Response(200, stream=events)
            listing = api.list(resource, namespace, query)
            if printing.wants_table(accept):
                include = query.get("includeObject", "Metadata")
                return Response(200, printing.table(resource, listing["items"], listing["metadata"], include))
            return Response(200, listing)
        if method == "POST":
            if resource.namespaced and namespace is None:
                raise errors.method_not_allowed()
            body = _parse_body(raw, content_type)
            return Response(201, api.create(resource, scoped, body, options, owned=True))
        if method == "DELETE":
            body = _delete_options(_parse_body(raw, content_type), query)
            return Response(200, api.delete_collection(resource, namespace, query, body, options))
        raise errors.method_not_allowed()
    if subresource == "scale":
        return _scale(cluster, resource, scoped, name, method, raw, content_type, options)
    if subresource == "log":
        if method != "GET":
            raise errors.method_not_allowed()
        return Response(200, pod_logs.pod_log(cluster, scoped, name, query), content_type=pod_logs.TEXT_PLAIN)
    if method == "GET":
        stored = api.get(resource, scoped, name)
        if printing.wants_table(accept) and not subresource:
            metadata = {"resourceVersion": stored["metadata"].get("resourceVersion", "")}
            return Response(
                200, printing.table(resource, [stored], metadata, query.get("includeObject", "Metadata"))
            )
        return Response(200, stored)
    if method == "PUT":
        if subresource == "finalize" and resource.kind != "Namespace":
            raise NOT_FOUND
        body = _parse_body(raw, content_type)
        return Response(200, api.replace(resource, scoped, name, body, options, owned=True))
    if method == "PATCH":
        if subresource == "finalize":
            raise errors.method_not_allowed()
        code, obj = api.patch(resource, scoped, name, raw, content_type, options)
        return Response(code, obj)
    if method == "DELETE" and not subresource:
        body = _delete_options(_parse_body(raw, content_type), query)
        return Response(200, api.delete(resource, scoped, name, body, options))
    raise errors.method_not_allowed()


def _verb(method: str, name: str, query: dict[str, str]) -> str:
    """The API verb of a request on a resource (not a subresource), as RBAC and discovery name it."""
    if method == "GET":
        return "get" if name else ("watch" if watch.is_watch(query) else "list")
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


def _scale(
    cluster: FakeCluster,
    resource: ResourceType,
    namespace: str,
    name: str,
    method: str,
    raw: bytes,
    content_type: str,
    options: WriteOptions,
) -> Response:
    api = cluster.api
    crd = None
    if resource.custom:
        crd = api.store.get(
            ("apiextensions.k8s.io", "customresourcedefinitions"), "", f"{resource.plural}.{resource.group}"
        )
    paths = paths_from_crd(crd, resource.version)
    current = api.get(resource, namespace, name)
    scale = to_scale(current, paths)
    if method == "GET":
        return Response(200, scale)
    main_options = WriteOptions(dry_run=options.dry_run, manager=options.manager)
    if method == "PUT":
        body = _parse_body(raw, content_type)
        updated = from_scale(current, body, paths)
    elif method == "PATCH":
        from drsyncer.sandbox import patching

        document = json.loads(raw or b"null")
        media = content_type.split(";", 1)[0].strip()
        if media not in patching.PATCH_TYPES:
            raise errors.unsupported_media_type(media, list(patching.PATCH_TYPES))
        try:
            patched = patching.apply_patch(scale, document, media)
        except patching.PatchError as exc:
            raise errors.ApiError(exc.code, exc.reason, exc.message) from exc
        updated = from_scale(current, patched, paths)
    else:
        raise errors.method_not_allowed()
    stored = api.replace(resource, namespace, name, updated, main_options)
    return Response(200, to_scale(stored, paths))
