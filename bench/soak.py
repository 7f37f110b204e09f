"""Soak: hours of time-scaled simulator with random faults on a three-node cluster.

Not a test. The cluster of ``tests/chaos`` (each node a ``streamvault node`` process in its
own network namespace, the simulator in a hub namespace) runs for ``--hours`` of sim time at
``--scale``, while random faults come and go: partitions, lossy slow links, ``kill -9``
mid-write, clocks minutes off, node c's small disk filling up, short "full" segments. At most
two nodes are in trouble at once, so some node always records. Then everything heals and the
stream ends, and it prints:

- segments lost (target 0): received whole by some node but not listed whole on all of them;
- replication lag p50 / p99: from a segment's end until the last node has it (sim seconds);
- hash disagreements decided, per node and outcome;
- each node's RSS over time (target: flat).

Needs root (namespaces, a tmpfs). ``sudo .venv/bin/python bench/soak.py --hours 0.5``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.chaos.campaign import Step, spec_for  # noqa: E402
from tests.chaos.netns import create_network, destroy_network  # noqa: E402

NODES = ("a", "b", "c")
KINDS = ("partition", "lossy", "kill", "clock", "disk_full", "truncate")


def random_schedule(rng: random.Random, seconds: float) -> list[Step]:
    """Windows of 60-240 sim seconds; in each, one or two nodes get a fault of a random kind."""
    steps: list[Step] = []
    t = 30.0
    while t < seconds - 90:
        window = rng.uniform(60, 240)
        for node in rng.sample(NODES, rng.choice((1, 1, 2))):
            kinds = [k for k in KINDS if k != "disk_full" or node == "c"]
            kind = rng.choice(kinds)
            span = rng.uniform(10, 25) if kind == "kill" else window - 10
            options: dict[str, object] = {}
            if kind == "clock":
                options["offset"] = rng.choice((-1, 1)) * rng.uniform(60, 240)
            elif kind == "lossy":
                options = {"loss": round(rng.uniform(0.02, 0.2), 3), "rate": "3mbit"}
            elif kind == "truncate":
                options["fraction"] = round(rng.uniform(0.2, 0.9), 2)
            steps.append(Step(round(t, 1), kind, node, round(span, 1), options))
        t += window
    return steps


def rss_table(series: dict[str, list[list[float]]], points: int = 8) -> list[str]:
    lines = []
    for node, samples in sorted(series.items()):
        if not samples:
            continue
        step = max(1, len(samples) // points)
        shown = [*samples[::step][:points], samples[-1]]
        cells = "  ".join(f"{t:5.0f}s {kb / 1024:5.1f}MB" for t, kb in shown)
        lines.append(f"  node {node}: {cells}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0, help="sim hours to run")
    parser.add_argument("--scale", type=float, default=10.0, help="sim seconds per second")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the node directories")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/soak.py needs root (network namespaces, a tmpfs)", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    seconds = args.hours * 3600
    schedule = random_schedule(random.Random(seed), seconds)
    root = tempfile.mkdtemp(prefix="streamvault-soak-")
    disk = os.path.join(root, "c")
    os.makedirs(disk)
    print(f"soak: {args.hours} sim hours at x{args.scale} (~{seconds / args.scale / 60:.1f} min), "
          f"seed {seed}, {len(schedule)} faults; data in {root}", flush=True)  # fmt: skip
    network = create_network(NODES)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", disk], check=True)
    started = time.monotonic()
    try:
        dirs = {"a": os.path.join(root, "a"), "b": os.path.join(root, "b"), "c": disk}
        # the recent cut-off, in real seconds, must outlast a loaded node's own download
        cutoff = max(8.0, 3.0 * args.scale)
        spec = spec_for(network, root, dirs, args.scale, schedule, seconds,
                        cache_dir=os.path.join(root, "video"), recent_cutoff=cutoff)  # fmt: skip
        spec_path = os.path.join(root, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        done = subprocess.run(
            [*network.exec_prefix(None), sys.executable, "-m", "tests.chaos.campaign", spec_path],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        subprocess.run(["umount", "-l", disk], capture_output=True)
        destroy_network(network)
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr)
        return 1
    result = json.loads(done.stdout.strip().splitlines()[-1])
    with open(os.path.join(root, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"ran {time.monotonic() - started:.0f} s; faults injected: {result['faults_injected']}")
    print(f"segments published {result['published']}, received whole {result['received_whole']}, "
          f"lost {result['segments_lost']} (target 0), missed by every node "
          f"{result['never_whole']} (not counted: {result['before_any_node']} that left the "
          "live playlist before any node was up)")  # fmt: skip
    for start, files in result.get("never_whole_files", {}).items():
        print(f"  missed by every node: {start}: {'; '.join(files) or 'no file anywhere'}")
    print(f"archives identical: {result['identical']} (converged "
          f"{result['converged_after_s']} s after healing); temp files "
          f"{len(result['temp_files'])}, torn files {len(result['torn_files'])}")  # fmt: skip
    print(f"short 'full' copies found {result['truncated_found']}, still visible "
          f"{len(result['truncated_still_visible'])}")  # fmt: skip
    lag50, lag99 = result["lag_p50"], result["lag_p99"]
    print(f"replication lag (segment end -> on every node, sim s): p50 {lag50:.1f}, "
          f"p99 {lag99:.1f}" if lag50 is not None else "replication lag: no samples")  # fmt: skip
    print(f"hash disagreements decided: {json.dumps(result['disagreements'])}")
    print("RSS over time (real seconds since start; restarted nodes start a new process):")
    for line in rss_table(result["rss_series_kb"]):
        print(line)
    if not args.keep:
        subprocess.run(["rm", "-rf", root])
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
