"""Kubernetes resource quantities (``10Gi``, ``500M``, ``1.5e3``) as exact numbers.

Used wherever sizes are compared rather than copied: an existing DR PVC only ever grows
(``pvcs.reconcile_pvc_with_live``) and the planner treats ``1Gi`` and ``1024Mi`` as equal.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]?)$")


def parse_quantity(text: str | int | float) -> Decimal:
    """Return the exact value of a Kubernetes quantity; raise ``ValueError`` for anything else."""
    if isinstance(text, bool):
        raise ValueError(f"not a quantity: {text!r}")
    if isinstance(text, int | float):
        return Decimal(str(text))
    match = _QUANTITY.match(text.strip())
    if not match:
        raise ValueError(f"not a quantity: {text!r}")
    number, suffix = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation as error:  # pragma: no cover - the pattern only admits numbers
        raise ValueError(f"not a quantity: {text!r}") from error
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix[:1] in ("e", "E"):
        return value * Decimal(10) ** int(suffix[1:])
    return value * _DECIMAL[suffix]


def same_quantity(left: object, right: object) -> bool:
    """True when both are quantities with the same value (``"1Gi"`` and ``"1024Mi"``)."""
    try:
        return parse_quantity(left) == parse_quantity(right)  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError):
        return False
