"""One agent's public host key as a string: checked strictly, and turned into a known_hosts line.

Agents print their own public host key (``<type> <base64>``, :mod:`tasks.data.agent_host_keys`); the
controller passes it to paramiko for the control hop and, in the ``pull`` request's ``source.hostKey``,
to the DR agent, whose control program writes it into a private per-request known_hosts for the hop to
the source agent (``agent/control.py``). Both sides accept exactly one key of a host-key type, base64
whose blob names the same type, at most :data:`MAX_KEY_LENGTH` characters, nothing else (no options,
no markers such as ``@cert-authority``/``@revoked``, no second line). Stdlib only: the agent image
ships this module.
"""

from __future__ import annotations

import base64
import binascii
import re

HOST_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)
MAX_KEY_LENGTH = 2048
"""Longest public key line accepted (an RSA 8192-bit key is about 1,400 characters)."""
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


class HostKeyError(ValueError):
    """Not exactly one well-formed public host key."""


def public_host_key(text: object) -> str:
    """``<type> <base64>`` of one public host key (a trailing comment is dropped); HostKeyError otherwise."""
    if not isinstance(text, str) or len(text) > MAX_KEY_LENGTH or "\n" in text or "\r" in text:
        raise HostKeyError(f"a host key must be one line of at most {MAX_KEY_LENGTH} characters")
    fields = text.split()
    if not 2 <= len(fields) <= 3:
        raise HostKeyError("a host key must be '<type> <base64>'")
    key_type, blob = fields[0], fields[1]
    if key_type not in HOST_KEY_TYPES:
        raise HostKeyError(f"host key type must be one of {', '.join(HOST_KEY_TYPES)}")
    if not _BASE64.fullmatch(blob):
        raise HostKeyError("the host key is not base64")
    try:
        decoded = base64.b64decode(blob, validate=True)
    except binascii.Error:
        raise HostKeyError("the host key is not base64") from None
    length = int.from_bytes(decoded[:4], "big") if len(decoded) >= 4 else -1
    if decoded[4 : 4 + length] != key_type.encode() or len(decoded) < 4 + length + 4:
        raise HostKeyError(f"the host key's blob is not a {key_type} key")
    return f"{key_type} {blob}"


def pinned_known_hosts_line(host_key: str, *, host: str, port: int) -> str:
    """The known_hosts line that accepts ``host_key`` for ``host:port`` and nothing else."""
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {public_host_key(host_key)}"
