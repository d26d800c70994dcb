"""`python -m cluster [--short] [--kills N] [--cutoffs N]`: the cluster proof; prints the invariants table.

Exit 0 when every invariant holds, 1 on a violation, 77 when the machine cannot build the
cluster (not root, no `ip netns`, no PostgreSQL server): the reason is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from pathlib import Path

from cluster import net
from cluster.proof import SHORT, Plan, Proof, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the short form of `make test`: 2 workers, 2 kills, "
                                                             "1 cut-off, 1 PostgreSQL restart")
    parser.add_argument("--kills", type=int, help="worker kills (default 50)")
    parser.add_argument("--cutoffs", type=int, help="cut-offs (default 10)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--folder", type=Path, help="where the hosts' files and logs go (default: a temporary folder)")
    args = parser.parse_args(argv)
    plan = SHORT if args.short else Plan()
    plan = dataclasses.replace(plan, **{k: v for k, v in (("kills", args.kills), ("cutoffs", args.cutoffs))
                                        if v is not None})
    why = net.unavailable()
    from cluster.postgres import ClusterPostgres

    why = why or ClusterPostgres().unavailable()
    if why:
        print(f"cluster proof skipped: {why}")
        return 77
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bots-cluster-"))
    proof = Proof(plan, folder, random.Random(args.seed), say=lambda line: print(line, flush=True))
    print(f"cluster proof: {plan.workers} workers, {plan.kills} kills, {plan.cutoffs} cut-offs; files in {folder}",
          flush=True)
    started = time.monotonic()
    try:
        proof.run()
        rows = proof.invariants()
    finally:
        proof.teardown()
    print(table(rows, proof.tally, time.monotonic() - started))
    return 0 if all(held for *_, held in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
