"""StatefulSet claims during a DR operation: no scale-down of ours ever deletes a claim.

Kubernetes' PVC retention policy (KEP-1847, GA in 1.32): with
``spec.persistentVolumeClaimRetentionPolicy.whenScaled: Delete`` the StatefulSet controller hands the
claim of every scaled-down ordinal to its pod, and the garbage collector deletes the claim with the pod.
A DR operation scales a side to 0 and then copies the data *of those claims*: cutover stops the source
before the final copy, failback stops DR before copying DR's changes back. Scaled down as it is, the
side would lose the very data the operation is about to copy.

So a side is stopped in three moves, each one a pure patch builder here and an effect over the side's
StatefulSets (only those the mapping syncs):

- :func:`retain_claims`, before the scale-down: ``whenScaled: Delete`` → ``Retain``, the original value
  recorded in ``dr-syncer.io/original-when-scaled`` (a retry finds ``Retain`` and the record, and
  changes nothing);
- the scale-down itself (:func:`tasks.dr.workloads.stop_side`): condemned pods go, their claims stay;
- :func:`restore_claim_retention`, once the side has no pod left (and again when a side is started, for
  a run that stopped before that): the recorded value is put back and the record removed. With no pod,
  the controller touches no claim (it updates a claim's references only along with its live pod), so the
  user's policy is back in force from the moment nothing can trigger it — and the next sync copies the
  source's own policy, never our temporary ``Retain``, to DR.

A stage is different: it puts DR at rest with one sync write per StatefulSet (0 replicas and the
source's policy together), so no patch can come between. :func:`claims_a_stage_would_delete` finds the
DR StatefulSets that run (after a cutover) with ``whenScaled: Delete``, and the stage refuses them.

Patches are JSON merge patches with field manager ``dr-syncer-operations``.
"""

from __future__ import annotations

from typing import Any

from drsyncer import labels
from drsyncer.config.effective import EffectiveMapping
from drsyncer.objects import KubeObject, object_name
from tasks.dr.workloads import (
    OPERATIONS_MANAGER,
    STATEFULSET,
    Side,
    list_workloads,
    replicas_of,
    workload_ref,
)

DELETE = "Delete"
RETAIN = "Retain"
POLICIES = (DELETE, RETAIN)
"""The values of ``whenScaled`` (the API server defaults an absent one to ``Retain``)."""


def when_scaled(obj: KubeObject) -> str:
    """The StatefulSet's ``persistentVolumeClaimRetentionPolicy.whenScaled`` (``Retain`` when unset)."""
    policy = (obj.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    return str(policy.get("whenScaled") or RETAIN)


def _recorded(obj: KubeObject) -> str | None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(labels.ORIGINAL_WHEN_SCALED)
    return None if value is None else str(value)


def _policy_patch(when: str) -> dict[str, Any]:
    return {"persistentVolumeClaimRetentionPolicy": {"whenScaled": when}}


def retain_patch(obj: KubeObject) -> dict[str, Any] | None:
    """The patch keeping a StatefulSet's claims through a scale-down (``None``: nothing deletes them).

    ``whenScaled: Delete`` becomes ``Retain`` and ``Delete`` is recorded in ``original-when-scaled``. A
    StatefulSet already at ``Retain`` is left alone (the user's own ``Retain``, or ours from an earlier
    attempt, whose record stays as it is).
    """
    if obj.get("kind") != STATEFULSET.kind or when_scaled(obj) != DELETE:
        return None
    return {
        "metadata": {"annotations": {labels.ORIGINAL_WHEN_SCALED: DELETE}},
        "spec": _policy_patch(RETAIN),
    }


def restore_patch(obj: KubeObject) -> dict[str, Any] | None:
    """The patch that puts back the recorded ``whenScaled`` and removes the record (``None``: no record).

    A record that is not a policy value (edited by hand) is removed and the policy left as it is: the
    safe ``Retain``.
    """
    recorded = _recorded(obj)
    if obj.get("kind") != STATEFULSET.kind or recorded is None:
        return None
    patch: dict[str, Any] = {"metadata": {"annotations": {labels.ORIGINAL_WHEN_SCALED: None}}}
    if recorded in POLICIES and recorded != when_scaled(obj):
        patch["spec"] = _policy_patch(recorded)
    return patch


def claims_a_stage_would_delete(
    dr_workloads: list[KubeObject], source_workloads: list[KubeObject], *, scale_to_zero: bool
) -> dict[str, str]:
    """DR StatefulSets whose claims a stage (a sync) would delete: ``Kind/name`` → why.

    A stage puts DR at rest in one write per StatefulSet: 0 replicas *and* the source's retention policy.
    A StatefulSet that runs in DR (after a cutover) and has ``whenScaled: Delete`` on either side would
    lose the claims of its pods. Not at risk: scale-override copies (the sync keeps them running), mappings
    without ``scaleToZero`` (the sync keeps the source's count), copies already at 0.
    """
    if not scale_to_zero:
        return {}
    source_policy = {object_name(obj): when_scaled(obj) for obj in source_workloads}
    at_risk: dict[str, str] = {}
    for obj in dr_workloads:
        running = replicas_of(obj)
        if obj.get("kind") != STATEFULSET.kind or running == 0:
            continue
        if labels.SCALE_OVERRIDE in ((obj.get("metadata") or {}).get("labels") or {}):
            continue
        if DELETE in (when_scaled(obj), source_policy.get(object_name(obj))):
            at_risk[workload_ref(obj)] = f"{running} replicas running, whenScaled Delete"
    return at_risk


# --- effects ------------------------------------------------------------------------------------


def statefulsets(side: Side, mapping: EffectiveMapping) -> list[KubeObject]:
    """The side's StatefulSets that ``mapping`` syncs."""
    return [obj for obj in list_workloads(side, mapping) if obj.get("kind") == STATEFULSET.kind]


def _patch(side: Side, obj: KubeObject, patch: dict[str, Any]) -> None:
    path = STATEFULSET.path(side.namespace, object_name(obj))
    side.client.patch(path, patch, field_manager=OPERATIONS_MANAGER)


def retain_claims(side: Side, mapping: EffectiveMapping) -> list[str]:
    """Set ``whenScaled: Retain`` on every StatefulSet of the side that would delete claims when scaled.

    Call it before the side is scaled down. Returns one line per StatefulSet changed (for the step
    record).
    """
    changed: list[str] = []
    for obj in statefulsets(side, mapping):
        patch = retain_patch(obj)
        if patch is not None:
            _patch(side, obj, patch)
            changed.append(f"{workload_ref(obj)}: claims kept (whenScaled Delete → Retain)")
    return changed


def restore_claim_retention(side: Side, mapping: EffectiveMapping) -> list[str]:
    """Put back the ``whenScaled`` that :func:`retain_claims` recorded on the side's StatefulSets.

    Call it only when the side has no pod of its workloads left, or after it was scaled up again.
    Returns one line per StatefulSet changed.
    """
    changed: list[str] = []
    for obj in statefulsets(side, mapping):
        patch = restore_patch(obj)
        if patch is not None:
            _patch(side, obj, patch)
            restored = ((patch.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}).get(
                "whenScaled", when_scaled(obj)
            )
            changed.append(f"{workload_ref(obj)}: whenScaled {restored} restored")
    return changed
