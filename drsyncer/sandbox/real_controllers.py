"""The real-cluster controllers of one sandbox cluster, built and wired in one place.

``FakeCluster`` owns one :class:`RealControllers`; its parts are also the cluster's attributes tests use
(``cluster.jobs``, ``cluster.cronjobs``, ``cluster.keda``, ``cluster.identity``, ``cluster.admission``).
Every pass runs first in each kubelet ``settle()`` round (explicit or background), in this order:
identity publishers, Deployment revisions, StatefulSet claim retention, Jobs, HPAs, KEDA. On by default:
everything a real cluster always runs; KEDA, legacy tokens, the istio publisher and admission mutations
are off until a test turns them on, and ``reset()`` turns them off again. See README.md, "Real
controllers".
"""

from __future__ import annotations

from collections.abc import Callable

from drsyncer.sandbox.admission import Admission
from drsyncer.sandbox.api import Api
from drsyncer.sandbox.claim_retention import ClaimRetention
from drsyncer.sandbox.cronjobs import CronJobController
from drsyncer.sandbox.deployment_revision import DeploymentRevisions
from drsyncer.sandbox.hpa import HorizontalPodAutoscalers
from drsyncer.sandbox.identity import Identity
from drsyncer.sandbox.jobs import JobController
from drsyncer.sandbox.keda import Keda


class RealControllers:
    """Deployment revisions, claim retention, Jobs/CronJobs, HPA, KEDA, identity and admission."""

    def __init__(self, api: Api, *, cluster_name: str) -> None:
        self.identity = Identity(api, cluster_name)
        self.revisions = DeploymentRevisions(api)
        self.claim_retention = ClaimRetention(api)
        self.jobs = JobController(api)
        self.cronjobs = CronJobController(api, self.jobs.now)
        self.hpa = HorizontalPodAutoscalers(api)
        self.keda = Keda(api)
        self.admission = Admission()
        api.hooks.mutating_admission.append(self.admission.admit)

    def passes(self) -> list[Callable[[], None]]:
        """The reconcile passes, in the order a settle() round runs them."""
        return [
            self.identity.reconcile,
            self.revisions.reconcile,
            self.claim_retention.reconcile,
            self.jobs.reconcile,
            self.hpa.reconcile,
            self.keda.reconcile,
        ]

    def reset(self) -> None:
        """Optional controllers off, admission mutations gone, the jobs clock back to wall time."""
        self.identity.reset()
        self.jobs.reset()
        self.keda.reset()
        self.admission.clear()
