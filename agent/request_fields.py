"""Reading a control request's fields with bounds: whatever arrives, a clear refusal, never a crash.

The control key's holder writes the ``pull`` request (``agent/control.py``). Every field is checked here
before anything runs: the JSON's nesting depth and numbers (no NaN or Infinity, no 5,000-digit
integers), booleans that are booleans, timeouts that are finite and in range, lists of strings of
bounded length, and where the source may be: an address inside the source cluster's networks
(``--source-cidr``) on its agent port (``--source-port``), so the DR agent cannot be pointed at other
hosts or ports. Each refusal is a :class:`RequestRefusedError` naming the field; the control program
turns it into one line and exit 65.

Stdlib only: the agent image runs it with ``python3 -I``.
"""

from __future__ import annotations

import ipaddress
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.change_lists import valid_id
from tasks.data.change_guard import ChangeGuardLimits
from tasks.data.host_key_lines import HostKeyError, public_host_key
from tasks.data.rsync_command import UnsafeRsyncOptionError, validate_host, validate_port

MAX_JSON_DEPTH = 8
MAX_LIST_ITEMS = 256


class RequestRefusedError(ValueError):
    """A request field is missing, of the wrong type, out of range or not allowed."""


def load_request(argument: str, *, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """The request object; deep nesting, NaN/Infinity and out-of-range numbers are refused."""
    depth = 0
    for character in argument:
        depth += character in "[{"
        depth -= character in "]}"
        if depth > max_depth:
            raise RequestRefusedError(f"request is nested deeper than {max_depth} levels")

    def refuse_constant(name: str) -> float:
        raise RequestRefusedError(f"request contains {name}; numbers must be finite")

    try:
        request = json.loads(argument, parse_constant=refuse_constant)
    except json.JSONDecodeError as error:
        raise RequestRefusedError(f"request is not JSON: {error}") from None
    except RequestRefusedError:
        raise
    except (ValueError, RecursionError):
        raise RequestRefusedError("request has a number or nesting out of range") from None
    if not isinstance(request, dict):
        raise RequestRefusedError("request must be a JSON object")
    return request


def allowed_host(host: object, *, networks: Sequence[str]) -> str:
    """``host`` if it is an address inside ``networks`` (any valid IP address or DNS name when empty)."""
    try:
        checked = validate_host(host)  # type: ignore[arg-type]
    except UnsafeRsyncOptionError as error:
        raise RequestRefusedError(str(error)) from None
    if not networks:
        return checked
    try:
        address = ipaddress.ip_address(checked)
    except ValueError:
        raise RequestRefusedError(
            "source host must be an IP address inside the source cluster's networks"
        ) from None
    if not any(address in ipaddress.ip_network(cidr, strict=False) for cidr in networks):
        raise RequestRefusedError(f"source host {checked} is outside the source cluster's networks")
    return checked


def allowed_port(port: object, *, configured: int | None) -> int:
    """The source port: ``configured`` (a request may omit it or must repeat it), else the request's."""
    if configured is not None:
        if port is not None and port != configured:
            raise RequestRefusedError(f"source port must be the source cluster's agent port {configured}")
        return configured
    try:
        return validate_port(port)
    except UnsafeRsyncOptionError as error:
        raise RequestRefusedError(str(error)) from None


def bounded_int(value: object, name: str, *, maximum: int) -> int:
    """``value`` if it is an integer (not a bool) in ``0..maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise RequestRefusedError(f"'{name}' must be an integer between 0 and {maximum}")
    return value


def strict_bool(value: object, name: str) -> bool:
    """``value`` if it is ``true`` or ``false`` (not a string or number)."""
    if not isinstance(value, bool):
        raise RequestRefusedError(f"'{name}' must be true or false")
    return value


def finite_timeout(value: object, *, maximum: float) -> float:
    """``value`` seconds if it is a finite number in ``(0, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RequestRefusedError("'timeoutSeconds' must be a finite number")
    if not 0 < value <= maximum:
        raise RequestRefusedError(f"'timeoutSeconds' must be more than 0 and at most {maximum:.0f}")
    return float(value)


def string_list(value: object, name: str, *, max_items: int = MAX_LIST_ITEMS) -> tuple[str, ...]:
    """``value`` if it is a list of at most ``max_items`` strings."""
    if (
        not isinstance(value, list)
        or len(value) > max_items
        or not all(isinstance(item, str) for item in value)
    ):
        raise RequestRefusedError(f"'{name}' must be a list of at most {max_items} strings")
    return tuple(value)


def change_list_id(value: object) -> str | None:
    """``value`` if it is null or a change-list id (32 lower-case hex digits, ``agent/change_lists.py``)."""
    if value is None:
        return None
    if not isinstance(value, str) or not valid_id(value):
        raise RequestRefusedError("'changeList' must be null or the 32-digit id a preview answered")
    return value


def source_host_key(value: object) -> str:
    """The source agent's own public host key from ``source.hostKey``, or "" when absent.

    Present: exactly one bounded ``<type> <base64>`` line (:mod:`tasks.data.host_key_lines`), pinned for
    this pull. Absent (a controller that predates per-node host keys): the ``--known-hosts`` file is used.
    """
    if value is None:
        return ""
    try:
        return public_host_key(value)
    except HostKeyError as error:
        raise RequestRefusedError(f"'source.hostKey': {error}") from None


def guard_limits(value: object) -> ChangeGuardLimits | None:
    """``value`` as change-guard limits: null, or ``{maxDeletedPercent, maxChangedPercent, minFiles}``."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"maxDeletedPercent", "maxChangedPercent", "minFiles"}:
        raise RequestRefusedError("'guard' must be null or {maxDeletedPercent, maxChangedPercent, minFiles}")
    percents = [value.get(name, 100) for name in ("maxDeletedPercent", "maxChangedPercent")]
    for percent in percents:
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
            raise RequestRefusedError("'guard' percentages must be numbers between 0 and 100")
    return ChangeGuardLimits(
        max_deleted_percent=float(percents[0]),
        max_changed_percent=float(percents[1]),
        min_files=bounded_int(value.get("minFiles", 0), "guard.minFiles", maximum=10**12),
    )
