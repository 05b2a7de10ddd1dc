"""Field ownership: server-side apply and the ``managedFields`` every write records, as pure functions.

The real kube-apiserver tracks, per object, which *field manager* owns which fields (structured-merge-diff).
Every write goes through it: a plain create/update/patch gives the changed fields to the writing manager
(operation ``Update``, ``record_update``); a server-side apply (``server_side_apply``) merges the applied
configuration into the live object, refuses to change fields another manager owns (``ApplyConflict``,
409) unless forced, and removes fields the applier stopped applying that nobody else owns. The result is
stored in ``metadata.managedFields`` as ``FieldsV1`` trees (``f:`` fields, ``k:{...}`` keyed items,
``v:`` set values, ``.`` for a node owned as well as its children), encoded exactly like the real server.

A field set here is a ``set`` of paths; a path is a tuple of FieldsV1 keys (``("f:spec", "f:replicas")``).
The sandbox server calls these functions around its storage; they do no I/O and never mutate inputs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox import merge_keys
from drsyncer.sandbox.merge_keys import FieldPath
from drsyncer.sandbox.patching import PatchError, json_equal

__all__ = [
    "ANCIENT_CHANGES",
    "BEFORE_FIRST_APPLY",
    "MAX_UPDATE_MANAGERS",
    "ApplyConflict",
    "Path",
    "decode_fields",
    "encode_fields",
    "format_path",
    "managed_paths",
    "record_update",
    "server_side_apply",
]

Path = tuple[str, ...]
"""One field path as FieldsV1 keys: ``("f:spec", "f:containers", 'k:{"name":"web"}', "f:image")``."""

MAX_UPDATE_MANAGERS = 10
"""At most this many ``Update`` entries are kept; older ones merge into ``ANCIENT_CHANGES``."""

ANCIENT_CHANGES = "ancient-changes"
"""The manager that collects the fields of the oldest ``Update`` entries beyond ``MAX_UPDATE_MANAGERS``."""

BEFORE_FIRST_APPLY = "before-first-apply"
"""The manager the real server invents to own the fields of an object applied without managedFields."""

_STRIPPED: frozenset[Path] = frozenset(
    {
        ("f:apiVersion",),
        ("f:kind",),
        ("f:metadata",),
        *(
            ("f:metadata", f"f:{name}")
            for name in (
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
            )
        ),
    }
)
"""Paths no manager ever owns (the real server's ``stripMetaManager``)."""

_SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "selfLink", "managedFields")
"""Metadata the server keeps for itself: apply never copies these from the applied configuration."""

_MISSING: Any = object()
"""Marks an absent value (distinct from JSON ``null``)."""

_ZERO: Any = object()
"""Marks the Go zero value of a struct: what the real server compares a new object against on create."""


# --- managers and their entries ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Manager:
    """Identity of one managedFields entry (apiVersion counts for ``Update`` entries only)."""

    manager: str
    operation: str
    subresource: str
    api_version: str

    def describe(self) -> str:
        """Render the manager like the real server's ``printManager`` (used in conflict messages)."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text


@dataclass
class _Entry:
    fields: set[Path]
    api_version: str
    time: str | None


def _identity(manager: str, operation: str, subresource: str, api_version: str) -> _Manager:
    return _Manager(manager, operation, subresource, api_version if operation == "Update" else "")


def _decode_managers(obj: KubeObject) -> dict[_Manager, _Entry]:
    managers: dict[_Manager, _Entry] = {}
    for raw in obj.get("metadata", {}).get("managedFields") or []:
        if not isinstance(raw, dict) or (not raw.get("manager") and not raw.get("fieldsV1")):
            continue
        identity = _identity(
            str(raw.get("manager", "")),
            str(raw.get("operation", "Update")),
            str(raw.get("subresource", "")),
            str(raw.get("apiVersion", "")),
        )
        entry = managers.setdefault(identity, _Entry(set(), str(raw.get("apiVersion", "")), raw.get("time")))
        entry.fields |= decode_fields(raw.get("fieldsV1") or {})
    return managers


def _encode_managers(managers: dict[_Manager, _Entry]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for identity, entry in managers.items():
        if not entry.fields:
            continue
        encoded: dict[str, Any] = {
            "manager": identity.manager,
            "operation": identity.operation,
            "apiVersion": entry.api_version,
        }
        if entry.time is not None:
            encoded["time"] = entry.time
        encoded["fieldsType"] = "FieldsV1"
        encoded["fieldsV1"] = encode_fields(entry.fields)
        if identity.subresource:
            encoded["subresource"] = identity.subresource
        entries.append(encoded)
    entries.sort(
        key=lambda e: (
            e["operation"],
            e.get("time") or "",
            e["manager"],
            e["apiVersion"],
            e.get("subresource", ""),
        )
    )
    return entries


def _with_managers(obj: KubeObject, managers: dict[_Manager, _Entry]) -> KubeObject:
    result = copy.deepcopy(obj)
    metadata = result.setdefault("metadata", {})
    encoded = _encode_managers(managers)
    if encoded:
        metadata["managedFields"] = encoded
    else:
        metadata.pop("managedFields", None)
    return result


def _strip_managed(obj: KubeObject) -> KubeObject:
    result = copy.deepcopy(obj)
    if isinstance(result.get("metadata"), dict):
        result["metadata"].pop("managedFields", None)
    return result


# --- FieldsV1 ----------------------------------------------------------------------------------------


def _element_rank(element: str) -> tuple[int, str]:
    return ({"f": 0, "k": 1, "v": 2, "i": 3}.get(element[:1], 4), element)


def decode_fields(fields_v1: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """Decode a FieldsV1 tree into the set of paths it owns."""
    paths: set[Path] = set()
    for key, children in fields_v1.items():
        if key == ".":
            if prefix:
                paths.add(prefix)
            continue
        path = (*prefix, key)
        if isinstance(children, dict) and children:
            paths |= decode_fields(children, path)
        else:
            paths.add(path)
    return paths


def encode_fields(paths: Iterable[Path]) -> dict[str, Any]:
    """Encode paths as a FieldsV1 tree, ordered like the real server (fields, keys, values, indices)."""
    tree: dict[str, Any] = {}
    members: set[Path] = set(paths)
    for path in members:
        node = tree
        for element in path:
            node = node.setdefault(element, {})

    def emit(node: dict[str, Any], prefix: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if prefix and node and prefix in members:
            out["."] = {}
        for element in sorted(node, key=_element_rank):
            out[element] = emit(node[element], (*prefix, element))
        return out

    return emit(tree, ())


def format_path(path: Path) -> str:
    """Render a path like the server's ``fieldpath.Path.String()``: ``.spec.containers[name="web"].image``."""
    parts: list[str] = []
    for element in path:
        kind, body = element[:2], element[2:]
        if kind == "f:":
            parts.append("." + body)
        elif kind == "k:":
            keys = json.loads(body)
            parts.append("[" + ",".join(f"{name}={json.dumps(keys[name])}" for name in keys) + "]")
        elif kind == "v:":
            parts.append(f"[={body}]")
        else:
            parts.append(f"[{body}]")
    return "".join(parts)


def _key_element(keys: dict[str, Any]) -> str:
    return "k:" + json.dumps(keys, sort_keys=True, separators=(",", ":"))


def _value_element(value: Any) -> str:
    return "v:" + json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- the schema-aware walks ----------------------------------------------------------------------------


class _Schema:
    """Schema answers for one kind, plus the identity of list items (their FieldsV1 element)."""

    def __init__(self, api_version: str, kind: str, *, strict: bool = False) -> None:
        self.api_version = api_version
        self.kind = kind
        self.strict = strict

    def list_schema(self, names: FieldPath) -> merge_keys.ListSchema:
        return merge_keys.list_schema(self.api_version, self.kind, names)

    def atomic_map(self, names: FieldPath) -> bool:
        return merge_keys.map_is_atomic(self.api_version, self.kind, names)

    def free_form(self, names: FieldPath) -> bool:
        return merge_keys.map_is_free_form(self.api_version, self.kind, names)

    def item_elements(self, items: list[Any], names: FieldPath) -> list[str] | None:
        """FieldsV1 elements of a map- or set-list's items; ``None`` when the list is atomic."""
        schema = self.list_schema(names)
        if schema.list_type == "set":
            return [_value_element(item) for item in items]
        if schema.list_type != "map":
            return None
        elements: list[str] = []
        for position, item in enumerate(items):
            keys: dict[str, Any] = {}
            for name in schema.map_keys:
                if isinstance(item, dict) and item.get(name) is not None:
                    keys[name] = item[name]
                elif name in merge_keys.KEY_DEFAULTS:
                    keys[name] = merge_keys.KEY_DEFAULTS[name]
                elif self.strict:
                    raise PatchError(
                        422,
                        "Invalid",
                        f".{'.'.join(names)}: element {position}: associative list with keys has an element"
                        f' that omits key field "{name}" (and doesn\'t have default value)',
                    )
            elements.append(_key_element(keys) if keys else f"i:{position}")
        if self.strict:
            for position, element in enumerate(elements):
                if element in elements[:position]:
                    raise PatchError(
                        422,
                        "Invalid",
                        f".{'.'.join(names)}: duplicate entries for key {format_path((element,))[1:-1]}",
                    )
        return elements


def _field_set(schema: _Schema, value: Any, path: Path, names: FieldPath) -> set[Path]:
    """The fields an applied configuration sets (structured-merge-diff ``ToFieldSet``)."""
    paths: set[Path] = set()
    if isinstance(value, dict):
        if schema.atomic_map(names):
            return {path}
        for key, child in value.items():
            child_path, child_names = (*path, f"f:{key}"), (*names, key)
            if child is None or (isinstance(child, dict) and not child) or schema.free_form(names):
                paths.add(child_path)
            if isinstance(child, dict | list):
                paths |= _field_set(schema, child, child_path, child_names)
            else:
                paths.add(child_path)
        return paths
    if isinstance(value, list):
        elements = schema.item_elements(value, names)
        if elements is None:
            return {path}
        for element, item in zip(elements, value, strict=True):
            item_path = (*path, element)
            paths.add(item_path)
            if isinstance(item, dict):
                paths |= _field_set(schema, item, item_path, names)
        return paths
    return {path}


def _is_leaf(schema: _Schema, old: Any, new: Any, names: FieldPath) -> bool:
    values = [v for v in (old, new) if v is not _MISSING and v is not _ZERO]
    if any(isinstance(v, dict) for v in values):
        if schema.atomic_map(names):
            return True
        return all(v is None or v == {} for v in values) and old is not _ZERO
    if any(isinstance(v, list) for v in values):
        return schema.list_schema(names).list_type == "atomic"
    return True


@dataclass
class _Comparison:
    added: set[Path]
    modified: set[Path]
    removed: set[Path]


def _compare(schema: _Schema, old: Any, new: Any) -> _Comparison:
    """What changed from ``old`` to ``new`` (structured-merge-diff ``Compare``), paths of every node."""
    result = _Comparison(set(), set(), set())
    _compare_node(schema, old, new, path=(), names=(), out=result)
    return result


def _compare_node(
    schema: _Schema, old: Any, new: Any, *, path: Path, names: FieldPath, out: _Comparison
) -> None:
    if path:
        if old is _MISSING:
            out.added.add(path)
        elif new is _MISSING:
            out.removed.add(path)
    if _is_leaf(schema, old, new, names):
        if path and old is not _MISSING and new is not _MISSING and not json_equal(old, new):
            out.modified.add(path)
        return
    absent = (_MISSING, _ZERO, None)
    if all(v in absent or isinstance(v, dict) for v in (old, new)):
        _compare_maps(schema, old, new, path=path, names=names, out=out)
    elif all(v in absent or isinstance(v, list) for v in (old, new)):
        _compare_lists(schema, old, new, path=path, names=names, out=out)
    elif path and old is not _MISSING and new is not _MISSING:
        out.modified.add(path)


def _zero_child(schema: _Schema, names: FieldPath, key: str, new_child: Any) -> Any:
    """What a Go zero value holds at ``key``: value structs exist, pointers, maps and most lists do not."""
    child_names = (*names, key)
    if (
        isinstance(new_child, dict)
        and key in merge_keys.VALUE_STRUCT_FIELDS
        and not schema.free_form(child_names)
        and not schema.atomic_map(child_names)
    ):
        return _ZERO
    if isinstance(new_child, list) and key in merge_keys.NON_OMITTED_LISTS:
        return None
    return _MISSING


def _zero_object(obj: KubeObject) -> Any:
    """The object a real create compares against: a Go zero value, or an empty one for custom resources."""
    if merge_keys.is_builtin(str(obj.get("apiVersion", ""))):
        return _ZERO
    return {}


def _compare_maps(
    schema: _Schema, old: Any, new: Any, *, path: Path, names: FieldPath, out: _Comparison
) -> None:
    old_map = old if isinstance(old, dict) else {}
    new_map = new if isinstance(new, dict) else {}
    for key in dict.fromkeys([*old_map, *new_map]):
        if old is _ZERO:
            old_child = _zero_child(schema, names, key, new_map.get(key))
        else:
            old_child = old_map.get(key, _MISSING)
        _compare_node(
            schema,
            old_child,
            new_map.get(key, _MISSING),
            path=(*path, f"f:{key}"),
            names=(*names, key),
            out=out,
        )


def _compare_lists(
    schema: _Schema, old: Any, new: Any, *, path: Path, names: FieldPath, out: _Comparison
) -> None:
    old_list = old if isinstance(old, list) else []
    new_list = new if isinstance(new, list) else []
    old_items = dict(zip(schema.item_elements(old_list, names) or [], old_list, strict=False))
    new_items = dict(zip(schema.item_elements(new_list, names) or [], new_list, strict=False))
    for element in dict.fromkeys([*old_items, *new_items]):
        old_item, new_item = old_items.get(element, _MISSING), new_items.get(element, _MISSING)
        item_path = (*path, element)
        if element.startswith("v:"):
            if old_item is _MISSING:
                out.added.add(item_path)
            elif new_item is _MISSING:
                out.removed.add(item_path)
            continue
        _compare_node(schema, old_item, new_item, path=item_path, names=names, out=out)


def _merge(schema: _Schema, live: Any, applied: Any, names: FieldPath) -> Any:
    """Merge an applied configuration into the live object (structured-merge-diff ``Merge``)."""
    if isinstance(live, dict) and isinstance(applied, dict) and not schema.atomic_map(names):
        result = dict(live)
        for key, value in applied.items():
            if value is None:
                result.pop(key, None)
            elif key in result:
                result[key] = _merge(schema, result[key], value, (*names, key))
            else:
                result[key] = _merge(schema, _MISSING, value, (*names, key))
        return result
    if isinstance(applied, dict) and not schema.atomic_map(names):
        return {
            key: _merge(schema, _MISSING, value, (*names, key))
            for key, value in applied.items()
            if value is not None
        }
    if isinstance(applied, list) and isinstance(live, list):
        live_elements = schema.item_elements(live, names)
        applied_elements = schema.item_elements(applied, names)
        if live_elements is not None and applied_elements is not None:
            return _merge_items(schema, (live, live_elements), (applied, applied_elements), names=names)
    return copy.deepcopy(applied)


def _merge_items(
    schema: _Schema,
    live_items: tuple[list[Any], list[str]],
    applied_items: tuple[list[Any], list[str]],
    *,
    names: FieldPath,
) -> list[Any]:
    """Merge keyed or set lists, ordering items like structured-merge-diff's ``visitListItems``.

    Live-only items keep their place; items the configuration names follow the configuration's order.
    """
    live, live_elements = live_items
    applied, applied_elements = applied_items
    live_by = dict(zip(live_elements, live, strict=True))
    applied_by = dict(zip(applied_elements, applied, strict=True))
    shared = [element for element in applied_elements if element in live_by]
    out: list[Any] = []
    merged: set[str] = set()
    next_shared = shared.pop(0) if shared else None
    left, right = 0, 0

    def take(element: str) -> Any:
        if element in live_by and not element.startswith("v:"):
            return _merge(schema, live_by[element], applied_by[element], names)
        return copy.deepcopy(applied_by[element])

    while left < len(live_elements) or right < len(applied_elements):
        if left < len(live_elements) and right < len(applied_elements):
            element = live_elements[left]
            if element == applied_elements[right]:
                merged.add(element)
                out.append(take(element))
                left, right = left + 1, right + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if element in applied_by and next_shared is not None and next_shared != element:
                left += 1
                continue
        if left < len(live_elements):
            element = live_elements[left]
            if element not in applied_by:
                out.append(copy.deepcopy(live[left]))
                left += 1
                continue
            if element in merged:
                left += 1
                continue
        if right < len(applied_elements):
            element = applied_elements[right]
            merged.add(element)
            out.append(take(element))
            right += 1
            if next_shared is not None and next_shared == element:
                next_shared = shared.pop(0) if shared else None
    return out


def _named_prefixes(paths: set[Path]) -> set[Path]:
    """Add every ancestor ending in a field name (``EnsureNamedFieldsAreMembers``)."""
    result = set(paths)
    for path in paths:
        for end in range(1, len(path)):
            if path[end - 1].startswith("f:"):
                result.add(path[:end])
    return result


def _prune(
    schema: _Schema, value: Any, *, remove: set[Path], keep: set[Path], path: Path, names: FieldPath
) -> Any:
    """Drop the nodes a manager stopped applying (in ``remove``) that no manager still owns (``keep``)."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, child in value.items():
            child_path = (*path, f"f:{key}")
            if child_path in remove and child_path not in keep:
                continue
            result[key] = _prune(
                schema, child, remove=remove, keep=keep, path=child_path, names=(*names, key)
            )
        return result
    if isinstance(value, list):
        elements = schema.item_elements(value, names)
        if elements is None:
            return value
        return [
            _prune(schema, item, remove=remove, keep=keep, path=(*path, element), names=names)
            for element, item in zip(elements, value, strict=True)
            if not ((*path, element) in remove and (*path, element) not in keep)
        ]
    return value


# --- conflicts -----------------------------------------------------------------------------------------


class ApplyConflict(Exception):  # noqa: N818 - the name the server codes against
    """A server-side apply that would change fields other managers own (HTTP 409, reason ``Conflict``).

    ``conflicts`` lists ``(manager, field path)`` pairs; the message reads like the real server's:
    ``Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas``.
    """

    def __init__(
        self, conflicts: list[tuple[str, str]], *, described: list[tuple[str, str]] | None = None
    ) -> None:
        self.conflicts = conflicts
        self._described = described or [(json.dumps(manager), path) for manager, path in conflicts]
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The Status message the real server writes."""
        if len(self._described) == 1:
            manager, path = self._described[0]
            return f"Apply failed with 1 conflict: conflict with {manager}: {path}"
        lines: list[str] = []
        for manager in sorted({manager for manager, _ in self._described}):
            lines.append(f"conflicts with {manager}:")
            lines.extend(f"- {path}" for m, path in self._described if m == manager)
        return f"Apply failed with {len(self._described)} conflicts: " + "\n".join(lines)

    @property
    def causes(self) -> list[dict[str, str]]:
        """One ``StatusCause`` per field, as on the wire (Go's ``StatusCause.Type`` serialises as ``reason``).

        Update managers read ``conflict with "kubectl-client-side-apply" using apps/v1``; appliers only
        ``conflict with "mgr"``.
        """
        return [
            {"reason": "FieldManagerConflict", "message": f"conflict with {manager}", "field": path}
            for manager, path in self._described
        ]

    def as_status(self) -> dict[str, Any]:
        """The full ``Status`` body (code 409) the real server's ``NewApplyConflict`` returns."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": "Conflict",
            "details": {"causes": self.causes},
            "code": 409,
        }


# --- the operations ------------------------------------------------------------------------------------


def _schema_of(obj: KubeObject, *, strict: bool = False) -> _Schema:
    return _Schema(str(obj.get("apiVersion", "")), str(obj.get("kind", "")), strict=strict)


def _take_over(
    managers: dict[_Manager, _Entry],
    comparison: _Comparison,
    *,
    skip: _Manager | None,
    force: bool,
) -> list[tuple[_Manager, Path]]:
    """The real updater's core: find conflicts, and (when forced) take conflicting and removed fields away."""
    changed = comparison.added | comparison.modified
    conflicts = [
        (identity, path)
        for identity, entry in managers.items()
        if identity != skip
        for path in sorted(entry.fields & changed, key=lambda p: [_element_rank(e) for e in p])
    ]
    if conflicts and not force:
        return conflicts
    for identity, entry in managers.items():
        if identity != skip:
            entry.fields -= changed | comparison.removed
    return []


def _cap_updaters(managers: dict[_Manager, _Entry]) -> dict[_Manager, _Entry]:
    """Merge the oldest ``Update`` entries into ``ancient-changes`` buckets (the server's ``capManagers``)."""
    updaters = sorted(
        (identity for identity in managers if identity.operation == "Update"),
        key=lambda identity: (managers[identity].time or "", json.dumps(identity.__dict__, sort_keys=True)),
    )
    count = len(updaters)
    first_of_version: dict[str, _Manager] = {}
    for identity in updaters:
        if count <= MAX_UPDATE_MANAGERS:
            break
        entry = managers[identity]
        bucket = _identity(ANCIENT_CHANGES, "Update", "", entry.api_version)
        first = first_of_version.get(entry.api_version)
        if first is None:
            first_of_version[entry.api_version] = identity
            continue
        if bucket not in managers:
            managers[bucket] = managers.pop(first)
        managers[bucket].fields |= entry.fields
        managers[bucket].time = entry.time
        del managers[identity]
        count -= 1
    return managers


def _clean(managers: dict[_Manager, _Entry]) -> dict[_Manager, _Entry]:
    for entry in managers.values():
        entry.fields -= _STRIPPED
    return {identity: entry for identity, entry in managers.items() if entry.fields}


def record_update(
    old: KubeObject | None, new: KubeObject, *, manager: str, now: str, subresource: str = ""
) -> KubeObject:
    """Record a non-apply write (create, update, patch) in ``new``'s managedFields and return the result.

    The fields that changed from ``old`` (``None`` on create) to ``new`` go to ``manager`` with operation
    ``Update`` and leave every other manager's set, so a later apply of a different value conflicts. An
    object that already exists without managedFields stays untracked, as on the real server; managedFields
    sent in ``new`` replace the stored ones, and ``[{}]`` clears them.
    """
    sent = new.get("metadata", {}).get("managedFields")
    if sent == [{}]:
        return _strip_managed(new)
    source = new if sent else (old or {})
    managers = _decode_managers(source)
    if old is not None and not managers:
        return _strip_managed(new)
    schema = _schema_of(new)
    before = _zero_object(new) if old is None else _strip_managed(old)
    after = _strip_managed(new)
    comparison = _compare(schema, before, after)
    api_version = str(new.get("apiVersion", ""))
    _take_over(managers, comparison, skip=None, force=True)
    taken = (comparison.added | comparison.modified) - _STRIPPED
    if taken:
        identity = _identity(manager, "Update", subresource, api_version)
        entry = managers.setdefault(identity, _Entry(set(), api_version, now))
        entry.fields |= taken
        entry.time = now
    return _with_managers(after, _cap_updaters(_clean(managers)))


def server_side_apply(
    live: KubeObject | None,
    applied: KubeObject,
    *,
    manager: str,
    force: bool,
    now: str,
    subresource: str = "",
    status_is_subresource: bool = True,
) -> KubeObject:
    """Server-side apply ``applied`` over ``live`` (``None``: create) as ``manager``; return the new object.

    Maps merge, keyed and set lists merge by item, atomic lists and scalars are replaced. Fields this
    manager applied last time but no longer applies are removed unless another manager owns them. The
    server's own metadata (uid, resourceVersion, ...) and, on the main resource, ``status`` are not taken
    from ``applied``. Applying the same configuration again returns an identical object, ``time`` included.

    Raises:
        ApplyConflict: another manager owns a field ``applied`` changes, and ``force`` is false.
        PatchError: 422 when a keyed list item lacks its key or repeats one.
    """
    config = _strip_managed(applied)
    metadata = config.setdefault("metadata", {})
    precondition = metadata.get("resourceVersion")
    for name in _SERVER_METADATA:
        metadata.pop(name, None)
    if status_is_subresource and not subresource:
        config.pop("status", None)
    schema = _schema_of(config, strict=True)
    applied_fields = _field_set(schema, config, (), ())
    config_fields = applied_fields - _STRIPPED
    schema.strict = False

    current = _strip_managed(live) if live is not None else {}
    managers = _decode_managers(live or {})
    if live is not None and not managers:
        first = _compare(schema, _zero_object(current), current)
        fields = (first.added | first.modified) - _STRIPPED
        if fields:
            api_version = str(live.get("apiVersion", ""))
            identity = _identity(BEFORE_FIRST_APPLY, "Update", subresource, api_version)
            managers[identity] = _Entry(fields, api_version, now)

    identity = _identity(manager, "Apply", subresource, "")
    previous = managers.get(identity)
    last_fields = set(previous.fields) if previous else set()
    merged = _merge(schema, current, config, ())
    for name in _SERVER_METADATA:
        if name in current.get("metadata", {}):
            merged.setdefault("metadata", {})[name] = copy.deepcopy(current["metadata"][name])
    if precondition:
        # a resourceVersion in the configuration is a precondition the server checks: hand it back untouched
        merged.setdefault("metadata", {})["resourceVersion"] = precondition

    api_version = str(config.get("apiVersion", ""))
    managers[identity] = _Entry(config_fields, api_version, previous.time if previous else None)
    if last_fields:
        # As in the real updater, the applier's fresh set still holds apiVersion, kind and metadata.name
        # while pruning, so the object's identity always survives.
        owned: set[Path] = applied_fields.union(*(entry.fields for entry in managers.values()))
        merged = _prune(
            schema,
            merged,
            remove=_named_prefixes(last_fields),
            keep=_named_prefixes(owned),
            path=(),
            names=(),
        )

    comparison = _compare(schema, current if live is not None else _zero_object(merged), merged)
    conflicts = _take_over(managers, comparison, skip=identity, force=force)
    if conflicts:
        raise ApplyConflict(
            [(other.manager, format_path(path)) for other, path in conflicts],
            described=[(other.describe(), format_path(path)) for other, path in conflicts],
        )
    entry = managers[identity]
    changed = not json_equal(merged, current) or previous is None or previous.fields != entry.fields
    if changed or entry.time is None:
        entry.time = now
    entry.api_version = api_version
    return _with_managers(merged, _clean(managers))


def managed_paths(obj: KubeObject, manager: str, *, operation: str | None = None) -> set[Path]:
    """Return the paths ``manager`` owns in ``obj`` (all its entries, or those with ``operation``)."""
    paths: set[Path] = set()
    for identity, entry in _decode_managers(obj).items():
        if identity.manager == manager and operation in (None, identity.operation):
            paths |= entry.fields
    return paths
