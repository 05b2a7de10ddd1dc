"""The three PATCH bodies a kube-apiserver understands, as pure functions over JSON objects.

``PATCH`` arrives as JSON patch (RFC 6902), JSON merge patch (RFC 7386) or Kubernetes' strategic merge
patch (lists merged by key, ``$patch`` directives). The sandbox server decodes the body, calls one of
these functions on the stored object and validates the result like any write. Inputs are never mutated.

Failures raise ``PatchError`` carrying the status the real server answers (code, reason, message), so the
server turns it into a ``Status`` body without knowing patch details. Server-side apply, the fourth patch
type, lives in ``field_management``.
"""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox import merge_keys
from drsyncer.sandbox.merge_keys import FieldPath, supports_strategic_merge

__all__ = [
    "PATCH_TYPES",
    "PatchError",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_patch",
    "apply_strategic_merge_patch",
    "json_equal",
    "supports_strategic_merge",
]

REJECTED = "the server rejected our request due to an error in our request"
"""The message the real server gives for a JSON patch that does not apply (422); the cause is dropped."""

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER_PREFIX = "$setElementOrder/"
_DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"


class PatchError(Exception):
    """A patch the server refuses: ``code`` and ``reason`` as in the Status body the real server returns.

    ``detail`` keeps the precise cause for test failures and logs even where the real server's message is
    generic (JSON patch failures all read ``REJECTED``).
    """

    def __init__(self, code: int, reason: str, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.detail = detail or message

    def __str__(self) -> str:
        return self.message if self.detail == self.message else f"{self.message} ({self.detail})"


def json_equal(left: Any, right: Any) -> bool:
    """Compare two JSON values the way JSON does: ``1 == 1.0`` but ``True != 1``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and bool(left == right)


# --- JSON patch (RFC 6902) --------------------------------------------------------------------------


def _rejected(detail: str) -> PatchError:
    return PatchError(422, "Invalid", REJECTED, detail=detail)


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise _rejected(f"path {path!r} is not a string")
    if path == "":
        return []
    if not path.startswith("/"):
        raise _rejected(f'JSON pointer "{path}" must start with "/"')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(part: str, length: int, *, allow_end: bool) -> int:
    if part == "-" and allow_end:
        return length
    if not part.lstrip("-").isdigit():
        raise _rejected(f"invalid array index {part!r}")
    index = int(part)
    if index < 0:
        if index < -length:
            raise _rejected(f"array index {index} out of bounds")
        index += length
    if index > length or (index == length and not allow_end):
        raise _rejected(f"array index {index} out of bounds")
    return index


def _parent(document: Any, tokens: list[str], path: str) -> Any:
    node = document
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), allow_end=False)]
        else:
            raise _rejected(f"doc is missing path: {path}")
    if not isinstance(node, dict | list):
        raise _rejected(f"doc is missing path: {path}")
    return node


def _get(document: Any, path: str) -> tuple[bool, Any]:
    tokens = _pointer(path)
    if not tokens:
        return True, document
    parent = _parent(document, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        return (last in parent), parent.get(last)
    return True, parent[_index(last, len(parent), allow_end=False)]


def _add(document: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(document, tokens, path)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        parent.insert(_index(tokens[-1], len(parent), allow_end=True), value)
    return document


def _remove(document: Any, path: str) -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        raise _rejected("cannot remove the whole document")
    parent = _parent(document, tokens, path)
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise _rejected(f"Unable to remove nonexistent key: {tokens[-1]}: missing value")
        return document, parent.pop(tokens[-1])
    return document, parent.pop(_index(tokens[-1], len(parent), allow_end=False))


def _replace(document: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(document, tokens, path)
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise _rejected(f"replace operation does not apply: doc is missing key: {path}: missing value")
        parent[tokens[-1]] = value
    else:
        parent[_index(tokens[-1], len(parent), allow_end=False)] = value
    return document


def _operand(operation: dict[str, Any], name: str) -> Any:
    if name not in operation:
        raise _rejected(f"operation {operation.get('op')!r} missing {name!r} parameter")
    return operation[name]


def apply_json_patch(obj: KubeObject, operations: list[dict[str, Any]]) -> KubeObject:
    """Apply an RFC 6902 JSON patch (add, remove, replace, move, copy, test) to a copy of ``obj``.

    Pointers use ``~0``/``~1`` escaping, ``-`` appends to an array and negative indices count from the
    end (as the evanphx/json-patch library in the real server allows).

    Raises:
        PatchError: 400 when the body is not a list of operations; 422 ``Invalid`` when an operation
            does not apply (missing path, bad index, failed ``test``), with the real server's generic message.
    """
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise PatchError(
            400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
        )
    document: Any = copy.deepcopy(obj)
    for operation in operations:
        kind = operation.get("op")
        path = _operand(operation, "path")
        if kind == "add":
            document = _add(document, path, copy.deepcopy(_operand(operation, "value")))
        elif kind == "remove":
            document, _ = _remove(document, path)
        elif kind == "replace":
            document = _replace(document, path, copy.deepcopy(_operand(operation, "value")))
        elif kind == "move":
            source = _operand(operation, "from")
            if path != source and path.startswith(source + "/"):
                raise _rejected(f"move operation cannot move {source} into its own child {path}")
            document, value = _remove(document, source)
            document = _add(document, path, value)
        elif kind == "copy":
            found, value = _get(document, _operand(operation, "from"))
            if not found:
                raise _rejected(
                    f"copy operation does not apply: doc is missing from path: {operation['from']}"
                )
            document = _add(document, path, copy.deepcopy(value))
        elif kind == "test":
            found, value = _get(document, path)
            expected = operation.get("value")
            if not (json_equal(value, expected) if found else expected is None):
                raise _rejected(f"testing value {path} failed: test failed")
        else:
            raise _rejected(f"Unexpected kind: {kind}")
    if not isinstance(document, dict):
        raise PatchError(400, "BadRequest", "the patched document is not a JSON object")
    return document


# --- JSON merge patch (RFC 7386) ---------------------------------------------------------------------


def _merge_value(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_value(result.get(key), value)
    return result


def apply_merge_patch(obj: KubeObject, patch: dict[str, Any]) -> KubeObject:
    """Apply an RFC 7386 merge patch: maps merge recursively, ``null`` deletes a key, anything else replaces.

    Raises:
        PatchError: 400 when the patch is not a JSON object.
    """
    if not isinstance(patch, dict):
        raise PatchError(400, "BadRequest", "Invalid JSON Patch")
    result = _merge_value(obj, patch)
    assert isinstance(result, dict)
    return result


# --- strategic merge patch ---------------------------------------------------------------------------


class _Strategic:
    """One strategic merge: knows the object's kind so it can look list strategies up by field path."""

    def __init__(self, api_version: str, kind: str) -> None:
        self.api_version = api_version
        self.kind = kind

    def schema(self, path: FieldPath) -> merge_keys.ListSchema:
        return merge_keys.list_schema(self.api_version, self.kind, path)

    def merge_map(self, original: dict[str, Any], patch: dict[str, Any], path: FieldPath) -> dict[str, Any]:
        patch = dict(patch)
        if _DIRECTIVE in patch:
            directive = patch.pop(_DIRECTIVE)
            if directive == "replace":
                replaced: dict[str, Any] = _without_directives(patch)
                return replaced
            if directive == "delete":
                return {}
            raise PatchError(500, "", f"unknown patch type: {directive} in map: {patch}")
        result = dict(original)
        if _RETAIN_KEYS in patch:
            retained = patch.pop(_RETAIN_KEYS)
            if not isinstance(retained, list):
                raise PatchError(400, "BadRequest", "invalid patch: $retainKeys must be a list of strings")
            for key in patch:
                if not key.startswith("$") and patch[key] is not None and key not in retained:
                    raise PatchError(422, "Invalid", "patch content doesn't match retainKeys list")
            result = {key: value for key, value in result.items() if key in retained}
        orders = {
            key.removeprefix(_SET_ORDER_PREFIX): patch.pop(key)
            for key in list(patch)
            if key.startswith(_SET_ORDER_PREFIX)
        }
        for key, value in patch.items():
            if key.startswith(_DELETE_PRIMITIVE_PREFIX):
                field = key.removeprefix(_DELETE_PRIMITIVE_PREFIX)
                if isinstance(result.get(field), list) and isinstance(value, list):
                    result[field] = [
                        item for item in result[field] if not any(json_equal(item, v) for v in value)
                    ]
                continue
            if value is None:
                result.pop(key, None)
                continue
            child = (*path, key)
            if isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = self.merge_map(result[key], value, child)
            elif isinstance(value, dict):
                if value.get(_DIRECTIVE) == "delete":
                    continue
                result[key] = self.merge_map({}, value, child)
            elif isinstance(value, list):
                original_list = result.get(key)
                result[key] = self.merge_list(
                    original_list if isinstance(original_list, list) else [],
                    value,
                    child,
                    orders.pop(key, None),
                )
            else:
                result[key] = copy.deepcopy(value)
        for key, order in orders.items():
            if isinstance(result.get(key), list):
                result[key] = self.merge_list(result[key], [], (*path, key), order)
        return result

    def merge_list(
        self, original: list[Any], patch: list[Any], path: FieldPath, order: list[Any] | None
    ) -> list[Any]:
        schema = self.schema(path)
        if not schema.patch_merge:
            replaced: list[Any] = _without_directives(patch)
            return replaced
        if order is not None and not isinstance(order, list):
            raise PatchError(400, "BadRequest", "invalid patch: $setElementOrder must be a list")
        items = list(original)
        if not schema.patch_merge_key:
            merged = list(items)
            for value in patch:
                if not any(json_equal(value, seen) for seen in merged):
                    merged.append(copy.deepcopy(value))
            return _ordered(merged, order if order is not None else patch, items, "")
        key = schema.patch_merge_key
        plain: list[dict[str, Any]] = []
        for item in patch:
            if not isinstance(item, dict):
                raise PatchError(400, "BadRequest", f"invalid patch: {path[-1]} items must be objects")
            directive = item.get(_DIRECTIVE)
            if directive is None:
                plain.append(item)
            elif directive == "delete":
                if key not in item:
                    raise PatchError(500, "", f"map: {item} does not contain declared merge key: {key}")
                items = [i for i in items if not (isinstance(i, dict) and json_equal(i.get(key), item[key]))]
            elif directive == "replace":
                return [_without_directives(i) for i in patch if _DIRECTIVE not in i]
            elif directive == "merge":
                raise PatchError(500, "", "merging lists cannot yet be specified in the patch")
            else:
                raise PatchError(500, "", f"unknown patch type: {directive} in map: {item}")
        for item in plain:
            if key not in item:
                raise PatchError(500, "", f"map: {item} does not contain declared merge key: {key}")
            position = _find(items, key, item[key])
            if position is None:
                items.append(self.merge_map({}, item, path))
            else:
                items[position] = self.merge_map(items[position], item, path)
        if order is not None:
            missing = [i for i in plain if _find(order, key, i[key]) is None]
            if missing:
                raise PatchError(
                    400, "BadRequest", "invalid patch: $setElementOrder list doesn't match the patch"
                )
        return _ordered(items, order if order is not None else plain, list(original), key)


def _find(items: list[Any], key: str, value: Any) -> int | None:
    for position, item in enumerate(items):
        if isinstance(item, dict) and key in item and json_equal(item[key], value):
            return position
    return None


def _identity(item: Any, key: str) -> Any:
    return item.get(key) if key and isinstance(item, dict) else item


def _position(items: list[Any], item: Any, key: str) -> int:
    for position, candidate in enumerate(items):
        if json_equal(_identity(candidate, key), _identity(item, key)):
            return position
    return -1


def _ordered(merged: list[Any], order: list[Any], original: list[Any], key: str) -> list[Any]:
    """Order a merged list as the real server does (``normalizeElementOrder`` + ``mergeSortedSlice``).

    Items named by the patch (or ``$setElementOrder``) come in that order; server-only items keep their
    original order; the two runs interleave by the items' positions in the original list.
    """
    patched = [item for item in merged if _position(order, item, key) >= 0]
    server_only = [item for item in merged if _position(order, item, key) < 0]
    patched.sort(key=lambda item: _position(order, item, key))
    server_only.sort(key=lambda item: _position(original, item, key))
    result: list[Any] = []
    left, right = 0, 0
    while left < len(server_only) or right < len(patched):
        if left >= len(server_only):
            result.append(patched[right])
            right += 1
        elif right >= len(patched):
            result.append(server_only[left])
            left += 1
        else:
            left_at = _position(original, server_only[left], key)
            right_at = _position(original, patched[right], key)
            if left_at >= 0 and right_at >= 0 and left_at < right_at:
                result.append(server_only[left])
                left += 1
            else:
                result.append(patched[right])
                right += 1
    return result


def _without_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_directives(item)
            for key, item in value.items()
            if not key.startswith("$") and item is not None
        }
    if isinstance(value, list):
        return [_without_directives(item) for item in value]
    return copy.deepcopy(value)


def apply_strategic_merge_patch(obj: KubeObject, patch: dict[str, Any]) -> KubeObject:
    """Apply a Kubernetes strategic merge patch to a copy of ``obj``.

    Maps merge and ``null`` deletes a key; lists with a merge key (``merge_keys``) merge item by item and
    lists of scalars with a merge strategy (finalizers) merge as sets; other lists are replaced. Directives:
    ``$patch: replace|delete`` in maps and list items, ``$deleteFromPrimitiveList/<field>``,
    ``$setElementOrder/<field>`` and ``$retainKeys``. Merge keys come from ``obj``'s apiVersion and kind;
    the server answers 415 before calling this for kinds ``supports_strategic_merge`` refuses.

    Raises:
        PatchError: 400 for malformed directives, 422 when content contradicts ``$retainKeys``, 500 (as
            the real server) for an unknown ``$patch`` value or a list item without its merge key.
    """
    if not isinstance(patch, dict):
        raise PatchError(
            400, "BadRequest", "json: cannot unmarshal array into Go value of type map[string]interface {}"
        )
    engine = _Strategic(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    return engine.merge_map(copy.deepcopy(obj), copy.deepcopy(patch), ())


PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
"""The patch media types these functions apply (server-side apply is field management's)."""


def apply_patch(obj: KubeObject, document: Any, media: str) -> KubeObject:
    """Apply ``document`` of the patch type ``media`` (one of :data:`PATCH_TYPES`) to ``obj``."""
    if media == PATCH_TYPES[0]:
        return apply_json_patch(obj, document)
    if media == PATCH_TYPES[1]:
        return apply_merge_patch(obj, document)
    return apply_strategic_merge_patch(obj, document)
