"""Server-side field validation (KEP-2885, GA in Kubernetes 1.27): unknown fields by ``fieldValidation``.

Upstream behaviour reproduced: ``Strict`` refuses a body with a field the kind's schema does not know with
``400 BadRequest`` and ``<Kind> in version "v1" cannot be handled as a <Kind>: strict decoding error:
unknown field "<path>"``; ``Warn`` (the default) drops the field and answers with a ``Warning: 299 -
"unknown field \\"<path>\\""`` header; ``Ignore`` drops it silently. An invalid value is a 400.
"""

from __future__ import annotations

from typing import Any

from tests.sandbox.conftest import Raw


def _config_map(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "colour": "blue"},
        "data": {"mode": "production"},
        "extra": True,
    }


def test_strict_refuses_unknown_fields_with_the_strict_decoding_error(raw: Raw, ns: str) -> None:
    status, body, _ = raw(
        "POST",
        f"/api/v1/namespaces/{ns}/configmaps",
        _config_map("strict"),
        query={"fieldValidation": "Strict"},
    )

    assert status == 400
    assert body["reason"] == "BadRequest"
    assert body["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
        'unknown field "extra", unknown field "metadata.colour"'
    )
    assert raw("GET", f"/api/v1/namespaces/{ns}/configmaps/strict")[0] == 404


def test_strict_refuses_unknown_fields_in_a_server_side_apply(raw: Raw, ns: str) -> None:
    status, body, _ = raw(
        "PATCH",
        f"/api/v1/namespaces/{ns}/configmaps/applied",
        _config_map("applied"),
        content_type="application/apply-patch+yaml",
        query={"fieldManager": "contract", "fieldValidation": "Strict"},
    )

    assert status == 400
    assert 'strict decoding error: unknown field "extra"' in body["message"]


def test_warn_is_the_default_and_drops_the_fields_with_a_warning_header(raw: Raw, ns: str) -> None:
    status, body, headers = raw("POST", f"/api/v1/namespaces/{ns}/configmaps", _config_map("warned"))

    assert status == 201
    assert "extra" not in body
    assert "colour" not in body["metadata"]
    assert body["data"] == {"mode": "production"}
    assert '299 - "unknown field \\"extra\\""' in headers["Warning"]
    assert '299 - "unknown field \\"metadata.colour\\""' in headers["Warning"]


def test_ignore_drops_the_fields_silently(raw: Raw, ns: str) -> None:
    status, body, headers = raw(
        "POST",
        f"/api/v1/namespaces/{ns}/configmaps",
        _config_map("ignored"),
        query={"fieldValidation": "Ignore"},
    )

    assert status == 201
    assert "extra" not in body
    assert "Warning" not in headers


def test_an_invalid_field_validation_value_is_a_400(raw: Raw, ns: str) -> None:
    status, _, _ = raw(
        "POST", f"/api/v1/namespaces/{ns}/configmaps", _config_map("bad"), query={"fieldValidation": "Loose"}
    )

    assert status == 400
