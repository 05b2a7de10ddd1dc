"""Sandbox API throughput through the real ``kubernetes`` client: creates/s, gets/s, 1,000-item lists.

Run: ``.venv/bin/python benchmarks/sandbox_api.py [--count 1000]``. Targets (issue 3, 2-core machine):
>= 1,000 simple requests/s and a 1,000-ConfigMap list in < 50 ms. Lists are timed two ways: the raw
request (``_preload_content=False`` + ``json.loads``: server and transport) and the typed client's full
deserialisation into models (client-side cost, reported for information).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from kubernetes import client, config

from drsyncer.sandbox import FakeCluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="objects to create / gets to issue")
    parser.add_argument("--lists", type=int, default=20, help="list repetitions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, FakeCluster("bench") as cluster:
        kubeconfig = cluster.write_kubeconfig(Path(folder) / "kubeconfig", "bench")
        api = config.new_client_from_config(str(kubeconfig), context="bench")
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": "bench"}})
        body = {"metadata": {"name": "", "labels": {"app": "bench"}}, "data": {"key": "value" * 10}}

        started = time.perf_counter()
        for index in range(args.count):
            body["metadata"]["name"] = f"cm-{index:05d}"
            core.create_namespaced_config_map("bench", body, _preload_content=False).read()
        creates = args.count / (time.perf_counter() - started)

        started = time.perf_counter()
        for index in range(args.count):
            core.read_namespaced_config_map(
                f"cm-{index % args.count:05d}", "bench", _preload_content=False
            ).read()
        gets = args.count / (time.perf_counter() - started)

        started = time.perf_counter()
        for index in range(min(args.count, 300)):
            core.read_namespaced_config_map(f"cm-{index:05d}", "bench")
        typed_gets = min(args.count, 300) / (time.perf_counter() - started)

        raw_lists, typed_lists = [], []
        for _ in range(args.lists):
            started = time.perf_counter()
            response = core.list_namespaced_config_map("bench", _preload_content=False)
            items = json.loads(response.read())["items"]
            raw_lists.append(time.perf_counter() - started)
        for _ in range(max(3, args.lists // 5)):
            started = time.perf_counter()
            typed = core.list_namespaced_config_map("bench").items
            typed_lists.append(time.perf_counter() - started)
        api.close()

    print(f"creates/s            {creates:8.0f}   (target >= 1000)")
    print(f"gets/s               {gets:8.0f}   (target >= 1000)")
    print(f"gets/s (typed model) {typed_gets:8.0f}")
    print(
        f"list of {len(items)} (raw)     median "
        f"{statistics.median(raw_lists) * 1000:6.1f} ms   (target < 50 ms)"
    )
    print(
        f"list of {len(typed)} (typed)   median "
        f"{statistics.median(typed_lists) * 1000:6.1f} ms   (client models)"
    )


if __name__ == "__main__":
    main()
