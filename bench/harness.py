"""Shared pieces of the benchmarks: a throwaway database, timing, and ratio reports."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def redis_url() -> str:
    """The Redis database the benchmarks may use (and flush): ``BENCH_REDIS_URL``."""
    return os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


@contextmanager
def django_test_database() -> Iterator[None]:
    """Set up Django with the test settings and a fresh test database, dropped afterwards."""
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    django.setup()
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        from django.db import connection

        if connection.vendor == "postgresql":  # threads and servers the benchmarks started
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        teardown_databases(old, verbosity=0)


@dataclass
class Timing:
    name: str
    samples: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def measure(name: str, call: Callable[[], object], repeat: int, warmup: int = 20) -> Timing:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return Timing(name, samples)


def report(title: str, baseline: Timing, others: list[Timing]) -> str:
    """A Markdown table: p50, p99 and the p50 ratio to the baseline measured in the same run."""
    from django.db import connection

    lines = [
        f"### {title}",
        "",
        f"{os.cpu_count()} cores, Python {platform.python_version()}, database {connection.vendor}, "
        f"{len(baseline.samples)} samples each",
        "",
        "| workload | p50 ms | p99 ms | p50 / baseline |",
        "|---|---|---|---|",
    ]
    for timing in [baseline, *others]:
        ratio = timing.p50 / baseline.p50
        lines.append(f"| {timing.name} | {timing.p50 * 1000:.3f} | {timing.p99 * 1000:.3f} | {ratio:.2f}x |")
    return "\n".join(lines)
