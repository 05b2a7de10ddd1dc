"""The HorizontalPodAutoscaler controller: keeps a target within min/max, and stops at 0 replicas.

As kube-controller-manager's ``horizontal-pod-autoscaler`` controller (without a metrics pipeline: the
sandbox's metrics always sit at target, so the wanted count is the current one clamped):

- while the target's replicas are above 0, it is scaled (through the scale subresource, manager
  ``kube-controller-manager``) into ``minReplicas`` (default 1) .. ``maxReplicas``; status
  ``currentReplicas``/``desiredReplicas``, conditions ``AbleToScale``, ``ScalingActive`` True and
  ``ScalingLimited`` (True with ``TooFewReplicas``/``TooManyReplicas`` when clamped);
- at 0 replicas it does nothing to the target and sets ``ScalingActive`` False, reason
  ``ScalingDisabled`` ("scaling is disabled since the replica count of the target is zero") — so a DR
  copy parked at 0 stays parked;
- a missing target gives ``AbleToScale`` False, ``FailedGetScale``.
"""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox import scale_targets
from drsyncer.sandbox.api import Api, now
from drsyncer.sandbox.owner_references import deleting

MANAGER = "kube-controller-manager"
HPAS = ("autoscaling", "horizontalpodautoscalers")


MESSAGES = {
    "FailedGetScale": "the HPA controller was unable to get the target's current scale",
    "SucceededGetScale": "the HPA controller was able to get the target's current scale",
    "ScalingDisabled": "scaling is disabled since the replica count of the target is zero",
    "ReadyForNewScale": "recommended size matches current size",
    "ValidMetricFound": "the HPA was able to successfully calculate a replica count",
    "TooFewReplicas": "the desired replica count is less than the minimum replica count",
    "TooManyReplicas": "the desired replica count is more than the maximum replica count",
    "DesiredWithinRange": "the desired count is within the acceptable range",
}
"""kube-controller-manager's condition messages, by reason."""


def conditions_for(current: int | None, *, low: int, high: int) -> list[tuple[str, bool, str]]:
    """(type, status, reason) of an HPA's conditions for a target at ``current`` replicas (None: missing)."""
    if current is None:
        return [("AbleToScale", False, "FailedGetScale")]
    if current == 0 and low != 0:  # minReplicas 0 is the HPAScaleToZero alpha: it keeps scaling
        return [("AbleToScale", True, "SucceededGetScale"), ("ScalingActive", False, "ScalingDisabled")]
    if current < low:
        limited = ("ScalingLimited", True, "TooFewReplicas")
    elif current > high:
        limited = ("ScalingLimited", True, "TooManyReplicas")
    else:
        limited = ("ScalingLimited", False, "DesiredWithinRange")
    return [("AbleToScale", True, "ReadyForNewScale"), ("ScalingActive", True, "ValidMetricFound"), limited]


class HorizontalPodAutoscalers:
    """The HPA controller of one cluster."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def reconcile(self) -> None:
        """One pass over every HorizontalPodAutoscaler."""
        for hpa in self.api.store.list(HPAS):
            if not deleting(hpa):
                self._sync(hpa)

    def _sync(self, hpa: KubeObject) -> None:
        spec = hpa.get("spec") or {}
        namespace = hpa["metadata"]["namespace"]
        target = scale_targets.resolve(self.api, namespace, spec.get("scaleTargetRef") or {})
        current = target.replicas if target is not None else None
        low = spec.get("minReplicas", 1)
        high = spec.get("maxReplicas", current or low)
        status: dict[str, Any] = copy.deepcopy(hpa.get("status") or {})
        stamp = now()
        if target is not None and current is not None:
            status["currentReplicas"] = current
            disabled = current == 0 and low != 0
            desired = 0 if disabled else min(max(current, low), high)
            status["desiredReplicas"] = desired
            if desired != current:
                scale_targets.scale(self.api, target, desired, manager=MANAGER)
                status["lastScaleTime"] = stamp
        previous = {c.get("type"): c for c in status.get("conditions") or []}
        status["conditions"] = []
        for kind, value, reason in conditions_for(current, low=low, high=high):
            state = "True" if value else "False"
            old = previous.get(kind) or {}
            kept = (old.get("status"), old.get("reason")) == (state, reason)
            status["conditions"].append(
                {
                    "type": kind,
                    "status": state,
                    "reason": reason,
                    "message": MESSAGES[reason],
                    "lastTransitionTime": old.get("lastTransitionTime", stamp) if kept else stamp,
                }
            )
        if status != hpa.get("status"):
            updated = copy.deepcopy(self.api.store.get(HPAS, namespace, hpa["metadata"]["name"]) or hpa)
            updated["status"] = status
            resource = self.api.registry.by_key(HPAS)
            assert resource is not None
            self.api.update_internal(resource, updated)
