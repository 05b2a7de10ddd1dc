"""Prometheus metrics for dr-syncer: RPO you can see, alert on and trust (docs/observability.md).

The data flows one way::

    sync flow run ──► run record artifact (run_record) ──► Prefect API
    Prefect API (+ configuration, controller CRs) ──► history ──► MappingState ──► collector ──► /metrics

- :mod:`~drsyncer.metrics.run_record` — the small machine-readable artifact every sync run publishes
  (stage outcomes, PVC bytes and files, object counts); pure, plus its publisher.
- :mod:`~drsyncer.metrics.objective` — the RPO objective of a mapping (2x its schedule interval, or the
  ``dr-syncer.io/rpo-objective`` annotation) and what "breaks the objective" means; pure.
- :mod:`~drsyncer.metrics.state` — per-mapping state folded from finished runs (last success per stage and
  PVC, counters, duration histograms); pure.
- :mod:`~drsyncer.metrics.history` — reads finished runs and their records from the Prefect API.
- :mod:`~drsyncer.metrics.collector` — turns the states into Prometheus metric families at scrape time.
- :mod:`~drsyncer.metrics.exporter` — the refresh loop and the HTTP endpoint (``drsyncer exporter``,
  ``drsyncer serve --metrics-port``); ``drsyncer_agent_up`` comes from a probe it is given
  (:mod:`tasks.data.agent_health`, wired by the CLI: this package imports no task).
- :mod:`~drsyncer.metrics.rpo_report` — RPO per stage against the objective (``drsyncer status``).

Because everything is read back from the Prefect API, the metrics are the same whichever process ran the
sync (``serve``, a worker, ``drsyncer sync``).
"""
