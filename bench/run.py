"""Run the benchmarks and print their tables (paste them into bench/RESULTS.md).

python bench/run.py --quick    # smaller sizes, for a quick look (make bench)
python bench/run.py            # the full matrix (make bench-full)
python bench/run.py --only e2e_latency

Each workload is a module of this package with ``run(quick: bool) -> str``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import django_test_database

WORKLOADS = [
    "update_cost",
    "list_query",
    "e2e_latency",
    "idle_memory",
    "push_vs_poll",
    "fanout",
    "slow_consumer",
    "throughput",
    "churn",
    "list_replay",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument("--only", choices=WORKLOADS, action="append", help="this workload (repeatable)")
    options = parser.parse_args()
    chosen = options.only or WORKLOADS
    with django_test_database():
        command = "python bench/run.py" + (" --quick" if options.quick else "")
        command += "".join(f" --only {name}" for name in options.only or [])
        print(f"Run {datetime.date.today().isoformat()} (`{command}`)\n")
        started = time.monotonic()
        for name in chosen:
            module = importlib.import_module(f"bench.{name}")
            began = time.monotonic()
            print(module.run(quick=options.quick), end="\n\n", flush=True)
            print(f"({name}: {time.monotonic() - began:.0f} s)\n", flush=True)
        print(f"All {len(chosen)} workloads: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
