"""Owner references as the simulated controllers write them, and the questions they ask of them.

A controller that creates an object (a Job's pods, a CronJob's Jobs, a StatefulSet's claims) points it
at its owner with ``controller: true`` so the garbage collector and other controllers know who owns it.
Shared by the real-controller modules beside ``kubelet.py`` (jobs, cronjobs, claim retention).
"""

from __future__ import annotations

from typing import Any

from drsyncer.objects import KubeObject


def controller_reference(owner: KubeObject, *, block_owner_deletion: bool = True) -> dict[str, Any]:
    """A controller ownerReference to ``owner`` (``blockOwnerDeletion`` as its creating controller sets)."""
    reference: dict[str, Any] = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
    }
    if block_owner_deletion:
        reference["blockOwnerDeletion"] = True
    return reference


def controlled_by(obj: KubeObject, owner: KubeObject) -> bool:
    """Whether ``owner`` is ``obj``'s controller."""
    return any(
        reference.get("uid") == owner["metadata"]["uid"] and reference.get("controller")
        for reference in obj["metadata"].get("ownerReferences") or []
    )


def references_to(obj: KubeObject, uid: str) -> bool:
    """Whether ``obj`` has any ownerReference to the object with ``uid``."""
    return any(reference.get("uid") == uid for reference in obj["metadata"].get("ownerReferences") or [])


def deleting(obj: KubeObject) -> bool:
    """Whether ``obj`` is being deleted (has a deletionTimestamp)."""
    return bool(obj["metadata"].get("deletionTimestamp"))
