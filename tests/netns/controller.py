"""The controller side of the netns tests, run inside the DR network namespace (``ip netns exec``).

``python controller.py REQUEST_JSON`` runs :func:`tasks.data.transfer.transfer_pvc` against the DR agent on
the namespace's loopback and prints every rsync line as it comes (so the test can cut the link mid-way),
then one ``RESULT {...}`` or ``ERROR <class> <message>`` line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tasks.data.retry import RetryPolicy
from tasks.data.rsync_command import RsyncOptions
from tasks.data.transfer import AgentEndpoint, ControlCredentials, TransferSpec, transfer_pvc


def main() -> int:
    request = json.loads(sys.argv[1])
    spec = TransferSpec(
        source=AgentEndpoint(**request["source"]),
        destination=AgentEndpoint(**request["destination"]),
        options=RsyncOptions(**request["options"]),
        connect_timeout_seconds=3.0,
        timeout_seconds=60,
    )
    credentials = ControlCredentials(Path(request["key_file"]), Path(request["known_hosts_file"]))
    policy = RetryPolicy(max_retries=4, initial_backoff_seconds=0.5, max_backoff_seconds=1.0, jitter=0.0)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        result = transfer_pvc(spec, credentials, retry_policy=policy, on_line=say)
    except Exception as error:  # reported to the test, which asserts on it
        say(f"ERROR {type(error).__name__} {error}")
        return 1
    say("RESULT " + json.dumps({"attempts": result.attempts, "files": result.files_transferred}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
