"""Run the benchmarks and print their tables (paste them into bench/RESULTS.md).

python bench/run.py --quick    # a few hundred samples per workload
python bench/run.py            # the full run
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import django_test_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples, for a quick look")
    parser.add_argument(
        "--only", choices=["update_cost", "list_query", "e2e_latency", "idle_memory"], help="one workload"
    )
    options = parser.parse_args()
    repeat = 300 if options.quick else 3000
    with django_test_database():
        from bench import e2e_latency, idle_memory, list_query, update_cost

        command = "python bench/run.py" + (" --quick" if options.quick else "")
        command += f" --only {options.only}" if options.only else ""
        print(f"Run {datetime.date.today().isoformat()} (`{command}`)\n")
        workloads = {
            "update_cost": lambda: update_cost.run(repeat, steps=2_000 if options.quick else 10_000),
            "list_query": lambda: list_query.run(20 if options.quick else 100),
            "e2e_latency": lambda: e2e_latency.run(seconds=5 if options.quick else 20),
            "idle_memory": lambda: idle_memory.run(200 if options.quick else 1000),
        }
        for name, workload in workloads.items():
            if options.only in (None, name):
                print(workload(), end="\n\n", flush=True)


if __name__ == "__main__":
    main()
