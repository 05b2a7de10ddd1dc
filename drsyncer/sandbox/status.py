"""Failures as the API server reports them: ``ApiError`` and the ``Status`` bodies it renders to.

Every request-layer failure raises :class:`ApiError`; the HTTP layer turns it into a ``kind: Status``
body with the same ``code``, ``reason``, ``message`` and ``details`` a real kube-apiserver sends. The
constructors below hold the exact message wording clients (and our tests) match on.
"""

from __future__ import annotations

from typing import Any

from drsyncer.objects import KubeObject


class ApiError(Exception):
    """A request failure with its HTTP code and Kubernetes ``reason``."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> KubeObject:
        """The ``Status`` body."""
        body: KubeObject = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return details


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    """404 NotFound: ``configmaps "x" not found``."""
    return ApiError(
        404,
        "NotFound",
        f'{_qualified(plural, group)} "{name}" not found',
        details=_details(name, group, plural),
    )


def already_exists(plural: str, group: str, name: str) -> ApiError:
    """409 AlreadyExists."""
    return ApiError(
        409,
        "AlreadyExists",
        f'{_qualified(plural, group)} "{name}" already exists',
        details=_details(name, group, plural),
    )


def conflict(plural: str, group: str, name: str, why: str) -> ApiError:
    """409 Conflict: ``Operation cannot be fulfilled on ...``."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": {why}',
        details=_details(name, group, plural),
    )


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def forbidden(plural: str, group: str, name: str, why: str) -> ApiError:
    """403 Forbidden: ``configmaps "x" is forbidden: ...``."""
    return ApiError(
        403,
        "Forbidden",
        f'{_qualified(plural, group)} "{name}" is forbidden: {why}',
        details=_details(name, group, plural),
    )


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    """405 MethodNotAllowed."""
    return ApiError(405, "MethodNotAllowed", message, details={})


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    """415 UnsupportedMediaType (``content_type`` is what the client sent)."""
    _ = content_type
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - "
        f"accepted media types include: {', '.join(accepted)}",
    )


def expired(message: str) -> ApiError:
    """410 Expired."""
    return ApiError(410, "Expired", message)


class Cause:
    """One field problem of a 422 Invalid (``FieldValueInvalid``, ``FieldValueRequired``, ...)."""

    def __init__(self, field: str, message: str, reason: str = "FieldValueInvalid") -> None:
        self.field = field
        self.message = message
        self.reason = reason

    def render(self) -> dict[str, str]:
        """The cause as it appears in ``details.causes``."""
        return {"reason": self.reason, "message": self.message, "field": self.field}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def invalid_value(field: str, value: Any, why: str) -> Cause:
    """``Invalid value: "x": why``."""
    return Cause(field, f"Invalid value: {go_repr(value)}: {why}")


def required(field: str, why: str = "") -> Cause:
    """``Required value``."""
    return Cause(field, "Required value" + (f": {why}" if why else ""), "FieldValueRequired")


def forbidden_field(field: str, why: str) -> Cause:
    """``Forbidden: why``."""
    return Cause(field, f"Forbidden: {why}", "FieldValueForbidden")


def unsupported_value(field: str, value: Any, supported: list[str]) -> Cause:
    """``Unsupported value: "x": supported values: "a", "b"``."""
    options = ", ".join(f'"{s}"' for s in supported)
    return Cause(
        field, f"Unsupported value: {go_repr(value)}: supported values: {options}", "FieldValueNotSupported"
    )


def duplicate(field: str, value: Any) -> Cause:
    """``Duplicate value``."""
    return Cause(field, f"Duplicate value: {go_repr(value)}", "FieldValueDuplicate")


def go_repr(value: Any) -> str:
    """Render a value roughly as Go's ``%#v``-ish field error formatting does."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[]string{" + ", ".join(go_repr(v) for v in value) + "}"
    if isinstance(value, dict):
        return "map[string]string{" + ", ".join(f"{go_repr(k)}:{go_repr(v)}" for k, v in value.items()) + "}"
    return str(value)


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> ApiError:
    """422 Invalid with causes: ``Service "x" is invalid: spec.clusterIP: Invalid value: ...``."""
    summary = str(causes[0]) if len(causes) == 1 else "[" + ", ".join(str(c) for c in causes) + "]"
    details = _details(name, group, kind)
    details["causes"] = [c.render() for c in causes]
    return ApiError(
        422,
        "Invalid",
        f'{kind}{"." + group if group else ""} "{name}" is invalid: {summary}',
        details=details,
    )


def success(name: str, group: str, plural: str, uid: str) -> KubeObject:
    """The ``Status`` a delete returns when the object is gone at once."""
    details = _details(name, group, plural)
    details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
