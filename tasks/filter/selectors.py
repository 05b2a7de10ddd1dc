"""Label selectors (``matchLabels`` + ``matchExpressions``) as frozen values, matched like the API server.

The mapping's ``labelSelector`` (a dr-syncer addition) arrives here in its Kubernetes form; the filter
stage keeps only objects it matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
OPERATORS: tuple[str, ...] = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry: ``key``, ``operator``, ``values``."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when ``labels`` satisfy this requirement."""
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values

    def __str__(self) -> str:
        if self.operator in ("Exists", "DoesNotExist"):
            return self.key if self.operator == "Exists" else f"!{self.key}"
        word = "in" if self.operator == "In" else "notin"
        return f"{self.key} {word} ({','.join(self.values)})"


@dataclass(frozen=True)
class LabelSelector:
    """A standard Kubernetes label selector; every part must match (an empty selector matches all)."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    @classmethod
    def from_dict(cls, selector: Mapping[str, Any]) -> LabelSelector:
        """Build from the Kubernetes form ``{"matchLabels": {...}, "matchExpressions": [...]}``."""
        expressions = []
        for expression in selector.get("matchExpressions") or []:
            operator = expression["operator"]
            if operator not in OPERATORS:
                raise ValueError(f"unknown label selector operator {operator!r}")
            values = tuple(str(value) for value in expression.get("values") or ())
            expressions.append(Requirement(key=expression["key"], operator=operator, values=values))
        match_labels = tuple(sorted((str(k), str(v)) for k, v in (selector.get("matchLabels") or {}).items()))
        return cls(match_labels=match_labels, match_expressions=tuple(expressions))

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when ``labels`` satisfy every label and every expression."""
        return all(labels.get(key) == value for key, value in self.match_labels) and all(
            requirement.matches(labels) for requirement in self.match_expressions
        )

    def __str__(self) -> str:
        parts = [f"{key}={value}" for key, value in self.match_labels]
        parts.extend(str(requirement) for requirement in self.match_expressions)
        return ",".join(parts)
