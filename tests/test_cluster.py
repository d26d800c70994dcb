"""The cluster proof's short form (`make cluster-test` is the full one): two workers in network
namespaces on one PostgreSQL, one mock world; two kill -9, one cable pulled, one PostgreSQL
restart; every invariant of cluster/proof.py holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(420)
def test_short_cluster_proof(tmp_path):
    done = subprocess.run([sys.executable, "-m", "cluster", "--short", "--folder", str(tmp_path / "cluster")],
                          cwd=ROOT, capture_output=True, text=True, timeout=400)
    if done.returncode == 77:
        pytest.skip(done.stdout.strip())
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "violations: 0" in done.stdout
    assert "2 worker kills, 1 cut-offs, 1 PostgreSQL restarts" in done.stdout
