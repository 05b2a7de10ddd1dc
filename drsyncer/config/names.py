"""Kubernetes name rules (DNS-1123) for the names a configuration uses.

Object names of our kinds are DNS-1123 subdomains (like any custom resource); namespaces are DNS-1123
labels. Label keys and values follow the label syntax. Each check returns the problem as a sentence with
the rule, or ``None``.
"""

from __future__ import annotations

import re

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def dns1123_label_problem(value: str) -> str | None:
    """Why ``value`` is not a DNS-1123 label (a namespace name), or ``None``."""
    if len(value) > 63:
        return f"{value!r} is {len(value)} characters long; expected at most 63"
    if not _LABEL.match(value):
        return (
            f"{value!r} is not a valid DNS-1123 label; expected lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (e.g. 'my-app')"
        )
    return None


def dns1123_subdomain_problem(value: str) -> str | None:
    """Why ``value`` is not a DNS-1123 subdomain (an object name), or ``None``."""
    if len(value) > 253:
        return f"{value!r} is {len(value)} characters long; expected at most 253"
    if not _SUBDOMAIN.match(value):
        return (
            f"{value!r} is not a valid DNS-1123 name; expected lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit (e.g. 'prod-cluster')"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """Why ``key`` is not a label key (``[prefix/]name``), or ``None``."""
    prefix, _, name = key.rpartition("/")
    if prefix and dns1123_subdomain_problem(prefix) is not None:
        return f"label key {key!r} has an invalid prefix; expected a DNS subdomain like 'example.com/'"
    if len(name) > 63 or not _LABEL_NAME.match(name):
        return (
            f"{key!r} is not a valid label key; expected at most 63 letters, digits, '-', '_' or '.', "
            "optionally after a DNS prefix and '/' (e.g. 'app.kubernetes.io/name')"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is not a label value, or ``None``."""
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        return (
            f"{value!r} is not a valid label value; expected at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return None
