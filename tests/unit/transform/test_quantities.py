"""Quantities compare by value across units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tasks.transform.quantities import parse_quantity, same_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1Ki", 1024),
        ("1Mi", 2**20),
        ("10Gi", 10 * 2**30),
        ("1Ti", 2**40),
        ("1k", 1000),
        ("1M", 10**6),
        ("2G", 2 * 10**9),
        ("1073741824", 2**30),
        ("1.5Gi", Decimal("1.5") * 2**30),
        ("500m", Decimal("0.5")),
        ("1e3", 1000),
        ("0.5", Decimal("0.5")),
    ],
)
def test_parse_quantity_understands_kubernetes_suffixes(text: str, value: Decimal | int) -> None:
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "Gi", "1GB", "ten", "1 Gi x"])
def test_parse_quantity_refuses_non_quantities(text: str) -> None:
    with pytest.raises(ValueError, match="quantity"):
        parse_quantity(text)


def test_same_quantity_compares_values() -> None:
    assert same_quantity("1Gi", "1024Mi")
    assert same_quantity("0.5", "500m")
    assert not same_quantity("1G", "1Gi")
    assert not same_quantity("x", "x")
