"""The transformation runner: apply the catalogue to one object and record who changed what.

``transform_object`` is what the transform task calls per object. It never changes its input: rules get
the working copy read-only and return edits, which the runner applies and records as ``Change`` entries
(rule, path, note) — the "why" the planner and the report show next to a field.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field

from drsyncer.objects import KubeObject
from tasks.field_paths import FieldPath, format_path
from tasks.transform.catalogue import RULES, Rule
from tasks.transform.context import TransformContext
from tasks.transform.edits import apply_edit


@dataclass(frozen=True)
class Change:
    """One field a rule changed: the rule's name, the field's path, a note for people."""

    rule: str
    path: FieldPath
    note: str

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.note} ({self.rule})"


@dataclass(frozen=True)
class Transformed:
    """The DR object and the list of changes the rules made to reach it from the source."""

    obj: KubeObject
    changes: list[Change] = field(default_factory=list)


def transform_object(obj: KubeObject, ctx: TransformContext, *, rules: Iterable[Rule] = RULES) -> Transformed:
    """Return the DR form of source object ``obj`` under ``ctx``; ``obj`` itself is not changed."""
    working = copy.deepcopy(obj)
    kind = str(obj.get("kind", ""))
    changes: list[Change] = []
    for rule in rules:
        if not rule.applies_to(kind):
            continue
        for edit in rule.function(working, ctx):
            if apply_edit(working, edit):
                changes.append(Change(rule=rule.name, path=edit.path, note=edit.note))
    return Transformed(obj=working, changes=changes)


def transform_objects(objects: Iterable[KubeObject], ctx: TransformContext) -> list[Transformed]:
    """Transform each object of ``objects`` (one stage call for many objects)."""
    return [transform_object(obj, ctx) for obj in objects]
