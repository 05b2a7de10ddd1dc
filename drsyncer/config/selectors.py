"""Label selectors (the standard Kubernetes ``LabelSelector``) and their matching.

A NamespaceMapping's ``labelSelector`` narrows the objects of every kind that the filter stage keeps.
``matches`` is the pure function the filter stage calls; an empty selector matches everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from drsyncer.config.base import ConfigModel, Str
from drsyncer.config.names import label_key_problem, label_value_problem


class SelectorOperator(StrEnum):
    """Operators of a label selector requirement."""

    In = "In"
    NotIn = "NotIn"
    Exists = "Exists"
    DoesNotExist = "DoesNotExist"


class LabelSelectorRequirement(ConfigModel):
    """One ``matchExpressions`` entry."""

    key: Str = Field(description="Label key the requirement applies to.")
    operator: SelectorOperator = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: list[Str] = Field(
        default_factory=list, description="Values for In/NotIn (non-empty); empty for Exists/DoesNotExist."
    )

    @field_validator("key")
    @classmethod
    def _valid_key(cls, key: str) -> str:
        problem = label_key_problem(key)
        if problem is not None:
            raise ValueError(problem)
        return key

    @model_validator(mode="after")
    def _values_fit_operator(self) -> LabelSelectorRequirement:
        if self.operator in (SelectorOperator.In, SelectorOperator.NotIn) and not self.values:
            raise ValueError(f"operator {self.operator} needs values; expected e.g. values: [web, api]")
        if self.operator in (SelectorOperator.Exists, SelectorOperator.DoesNotExist) and self.values:
            raise ValueError(f"operator {self.operator} takes no values; expected values to be empty")
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement."""
        if self.operator is SelectorOperator.Exists:
            return self.key in labels
        if self.operator is SelectorOperator.DoesNotExist:
            return self.key not in labels
        if self.operator is SelectorOperator.In:
            return labels.get(self.key) in self.values
        return self.key not in labels or labels[self.key] not in self.values


class LabelSelector(ConfigModel):
    """A standard Kubernetes label selector; all of its terms must match."""

    match_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels an object must carry with exactly these values."
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, description="Requirements an object's labels must all satisfy."
    )

    @field_validator("match_labels")
    @classmethod
    def _valid_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            problem = label_key_problem(key) or label_value_problem(value)
            if problem is not None:
                raise ValueError(problem)
        return labels

    @property
    def is_empty(self) -> bool:
        """Whether the selector has no terms (and so matches everything)."""
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an object with ``labels`` is selected."""
        return all(labels.get(key) == value for key, value in self.match_labels.items()) and all(
            requirement.matches(labels) for requirement in self.match_expressions
        )
