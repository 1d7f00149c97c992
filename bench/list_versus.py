"""The older list subscription, ``userTaskStatuses``, served by an earlier revision and by this tree,
taking turns: the live phase of ``list_replay.py`` with only that subscription.

    python bench/list_versus.py REV [--rounds 4] [--seconds 20]

REV is checked out into a temporary git worktree and its server runs from there (the database, the
writer and the clients are this tree's); the selection leaves out fields REV may not have (``seq``).
Rounds alternate which server goes first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from django.contrib.auth import get_user_model

from bench import servers
from bench.harness import REPO, django_test_database

QUERIES = {"old": "subscription { userTaskStatuses { id uuid name state stateText percentComplete created modified } }"}


@contextmanager
def served_from(tree: Path) -> Iterator[None]:
    """Servers started in the block run the code of ``tree``."""
    servers.REPO = tree
    try:
        yield
    finally:
        servers.REPO = REPO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args()
    figures: dict[str, list[tuple[float, float, float]]] = {options.revision: [], "this tree": []}
    with tempfile.TemporaryDirectory(prefix="bench-list-versus-") as folder:
        earlier = Path(folder) / "earlier"
        subprocess.run(["git", "worktree", "add", "--detach", str(earlier), options.revision], cwd=REPO, check=True,
                       capture_output=True)  # fmt: skip
        try:
            with django_test_database():
                from bench.list_replay import SUBSCRIBERS, _live_phase  # its models need Django set up

                username = f"versus-{uuid.uuid4().hex[:6]}"
                cookie = servers.session_cookie(username)
                user = get_user_model().objects.get(username=username)
                for number in range(options.rounds):
                    turns = [(options.revision, earlier), ("this tree", REPO)]
                    for label, tree in turns if number % 2 == 0 else reversed(turns):
                        with served_from(tree):
                            result = _live_phase(cookie, user, ["old"] * SUBSCRIBERS, options.seconds, QUERIES)
                        latencies = sorted(r - m for s in result["sockets"] for r, m, _ in s.events
                                           if m >= result["since"])  # fmt: skip
                        messages = max(1, len(latencies))
                        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
                        figures[label].append((statistics.median(latencies), p99, result["cpu"] / messages))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(earlier)], cwd=REPO, check=False)
    print(f"`python bench/list_versus.py {options.revision} --rounds {options.rounds} --seconds {options.seconds:g}`")
    print(f"\n{SUBSCRIBERS} subscribers of `userTaskStatuses`, one status written 10 times/s\n")
    print("| server | write to receipt p50 ms, by round | p99 ms, by round | server CPU µs per message, by round |")
    print("|---|---|---|---|")
    for label, rows in figures.items():
        cells = [", ".join(f"{row[i] * scale:,.1f}" for row in rows) for i, scale in ((0, 1e3), (1, 1e3), (2, 1e6))]
        print(f"| {label} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
