"""API Priority and Fairness: a saturated priority level rejects with 429 and Retry-After.

Upstream behaviour reproduced (kube-apiserver ``filters/priority-and-fairness.go`` and ``tooManyRequests``
in ``filters/maxinflight.go``): when every seat of a priority level is taken, a request is rejected with
``429``, a ``Status`` with reason ``TooManyRequests``, message ``Too many requests, please try again
later.``, ``details.retryAfterSeconds: 1`` and the header ``Retry-After: 1``.
The sandbox models one priority level with ``cluster.priority.configure(seats=N, hold=seconds)``.
Raw HTTP is used here because urllib3 (inside the official client) retries a GET's 429 by itself.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from drsyncer.sandbox import FakeCluster


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster("fairness") as sandbox:
        yield sandbox


def _get(url: str, path: str) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_requests_beyond_the_seats_get_429_with_retry_after(cluster: FakeCluster) -> None:
    cluster.priority.configure(seats=1, hold=0.3)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(lambda _: _get(cluster.url, "/api/v1/namespaces/default/configmaps"), range(4))
        )

    statuses = sorted(status for status, _, _ in answers)
    assert statuses[0] == 200
    assert 429 in statuses
    _, headers, body = next(answer for answer in answers if answer[0] == 429)
    assert headers["Retry-After"] == "1"
    document = json.loads(body)
    assert (document["reason"], document["message"]) == (
        "TooManyRequests",
        "Too many requests, please try again later.",
    )
    assert document["details"]["retryAfterSeconds"] == 1
    assert cluster.priority.rejected == statuses.count(429)


def test_a_free_seat_serves_the_request(cluster: FakeCluster) -> None:
    cluster.priority.configure(seats=1)

    assert _get(cluster.url, "/api/v1/namespaces/default/configmaps")[0] == 200
    assert _get(cluster.url, "/api/v1/namespaces/default/configmaps")[0] == 200


def test_reset_lifts_the_limit(cluster: FakeCluster) -> None:
    cluster.priority.configure(seats=0)
    assert _get(cluster.url, "/version")[0] == 429

    cluster.reset()

    assert _get(cluster.url, "/version")[0] == 200
