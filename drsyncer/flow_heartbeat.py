"""The flow-run heartbeat of a command that runs a flow in its own process, without a second lost at exit.

A flow run's heartbeat (the event ``prefect.flow-run.heartbeat``, every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``
seconds, 180 by default) is what Prefect's "zombie flow run" automation watches to mark a run whose
process died as Crashed (docs/operations.md). Prefect's synchronous engine sends it from a thread that
sleeps in one-second steps and joins that thread when the run ends: every ``drsyncer sync`` waited
0.5-1 s for it (measured 0.8-0.9 s of a 3.7 s no-op at 1,000 objects).

:func:`prompt_heartbeat` wraps one flow call of a command: Prefect's own heartbeat is off for that call,
and the same event (same resource, same related flow/deployment/tags, same interval) is sent from a
thread that waits on an event, so it ends the moment the call returns. With the heartbeat turned off
(the setting is ``None``, as in the test harness) nothing is sent, as with Prefect's.

Used by the commands that run flows in-process (:mod:`drsyncer.cli.sync`); runs started by workers or
``drsyncer serve`` keep Prefect's heartbeat.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.client.schemas.objects import FlowRun, State

P = ParamSpec("P")
R = TypeVar("R")

HEARTBEAT_EVENT = "prefect.flow-run.heartbeat"
"""The event name Prefect's engine emits, and its zombie-run automation expects."""


class _Heartbeat:
    """Sends the heartbeat of one flow run every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, interval: int) -> None:
        self.interval = interval
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def send_heartbeats(self, flow: Flow[Any, Any], flow_run: FlowRun, state: State) -> None:
        """An ``on_running`` hook: start beating for ``flow_run`` (Prefect's hook signature)."""
        del state
        if self.thread is not None:  # a retried run enters Running again: one thread is enough
            return
        resource, related = heartbeat_resources(flow, flow_run)
        context = contextvars.copy_context()  # the caller's Prefect settings (its PREFECT_API_URL)
        self.thread = threading.Thread(
            target=context.run,
            args=(self._beat, resource, related),
            name="drsyncer-flow-heartbeat",
            daemon=True,
        )
        self.thread.start()

    def _beat(self, resource: dict[str, str], related: list[dict[str, str]]) -> None:
        from prefect.events import emit_event

        while not self.stopped.is_set():
            emit_event(event=HEARTBEAT_EVENT, resource=resource, related=related)
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        """Stop beating; the thread wakes at once (it waits on an event, not in sleep steps)."""
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


def heartbeat_resources(
    flow: Flow[Any, Any], flow_run: FlowRun
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The event's resource and related resources, as Prefect's engine builds them for its heartbeat."""
    from prefect import __version__
    from prefect.events.related import tags_as_related_resources

    resource = {
        "prefect.resource.id": f"prefect.flow-run.{flow_run.id}",
        "prefect.resource.name": flow_run.name or "",
        "prefect.version": __version__,
    }
    related: list[dict[str, str]] = []
    if flow_run.flow_id:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow.{flow_run.flow_id}",
                "prefect.resource.role": "flow",
                "prefect.resource.name": flow.name,
            }
        )
    if flow_run.deployment_id:
        related.append(
            {
                "prefect.resource.id": f"prefect.deployment.{flow_run.deployment_id}",
                "prefect.resource.role": "deployment",
            }
        )
    related += [dict(tag.items()) for tag in tags_as_related_resources(set(flow_run.tags or []))]
    return resource, related


@contextmanager
def prompt_heartbeat(flow: Flow[P, R]) -> Iterator[Flow[P, R]]:
    """``flow`` with dr-syncer's heartbeat in place of Prefect's, for the calls made inside the block.

    Yields the flow to call (a copy with an ``on_running`` hook added); its heartbeat stops when the
    block ends.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

    interval = get_current_settings().flows.heartbeat_frequency
    if interval is None:
        yield flow
        return
    heartbeat = _Heartbeat(interval)
    hooked = flow.with_options(on_running=[*flow.on_running_hooks, heartbeat.send_heartbeats])
    try:
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield hooked
    finally:
        heartbeat.stop()
