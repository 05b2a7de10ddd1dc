"""DR operations (stage, cutover, failback): the steps on one side of a mapping, as plain functions.

``workloads`` records, stops and starts a side's workloads; ``health`` waits (with deadlines) until a side
is stopped or ready; ``staleness`` decides whether the DR copy is fresh enough to cut over to;
``operation_report`` is the step-by-step report; ``dr_tasks`` wraps the steps as checkpointed Prefect tasks
for :mod:`flows.dr_operations`.
"""
