"""Run workloads on an earlier revision and on this tree, taking turns, and print them side by side.

    python bench/versus.py REV --only update_cost --only e2e_latency [--rounds 2] [--quick]

REV (a commit, tag or branch) is checked out into a temporary git worktree; each round runs
``bench/run.py`` there and here with the same options, so both see the same machine, the earlier
revision first in odd rounds and this tree first in even ones (a machine that warms up or slows
down during a round weighs on both alike). Every
table row the two runs share is printed with its first figure before and after, the median over
the rounds, and after / before (a time: lower is better; a rate such as tasks/s: higher).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"^[\d,]*\.?\d+$")


def first_figures(output: str) -> dict[str, float]:
    """Each table row's first figure after its label cells, by its label (prefixed by the table's
    heading): a row's label is every cell before its first number but the first cell."""
    figures: dict[str, float] = {}
    heading = ""
    for line in output.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("# ").split(":")[0]
            continue
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        numbers = [index for index, cell in enumerate(cells) if index and NUMBER.match(cell)]
        if numbers:
            label = " / ".join(cells[: numbers[0]])
            figures[f"{heading}: {label}"] = float(cells[numbers[0]].replace(",", ""))
    return figures


def run_bench(tree: Path, options: list[str]) -> str:
    command = [sys.executable, str(tree / "bench" / "run.py"), *options]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {tree}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision")
    parser.add_argument("--only", action="append", required=True, help="a workload of bench/run.py (repeatable)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    passed = [*(["--quick"] if options.quick else []), *(f"--only={name}" for name in options.only)]
    before: dict[str, list[float]] = defaultdict(list)
    after: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="bench-versus-") as folder:
        earlier = Path(folder) / "earlier"
        subprocess.run(["git", "worktree", "add", "--detach", str(earlier), options.revision], cwd=REPO, check=True,
                       capture_output=True)  # fmt: skip
        try:
            for round_number in range(1, options.rounds + 1):
                turns = ((earlier, before), (REPO, after))
                for tree, figures in turns if round_number % 2 else reversed(turns):
                    for label, value in first_figures(run_bench(tree, passed)).items():
                        figures[label].append(value)
                print(f"round {round_number} of {options.rounds} done", file=sys.stderr, flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(earlier)], cwd=REPO, check=False)
    print(f"`python bench/versus.py {options.revision} {' '.join(passed)} --rounds {options.rounds}`\n")
    rounds = f"median of {options.rounds} rounds"
    print(f"| row (first figure, {rounds}) | {options.revision} | this tree | after / before |")
    print("|---|---|---|---|")
    for label in before:
        if label in after:
            old, new = statistics.median(before[label]), statistics.median(after[label])
            ratio = f"{new / old:.2f}x" if old else "-"
            print(f"| {label} | {old:,.3f} | {new:,.3f} | {ratio} |")


if __name__ == "__main__":
    main()
