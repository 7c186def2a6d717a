"""Importing the command line, or what a worker needs to run trials, loads none of the
analysis libraries. A worker started with "spawn" imports the console script's module
(``sparsernn.cli``) and every study kind before it trains anything, once per worker."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # each test starts a Python that imports torch

HEAVY = ["pandas", "sklearn", "scipy.stats", "matplotlib"]  # loaded by the commands that analyse and draw
WORKER = """
from sparsernn import registry
registry.kinds()
import sparsernn.studies.executors
import sparsernn.studies.trial
"""
# Peak resident memory that importing sparsernn.cli adds to importing torch alone. Measured
# (Linux, torch 2.13 CPU): 29 MiB (248 MiB against torch's 219 MiB); 180 MiB when the CLI
# imported pandas, scipy and sklearn. The bound is 25 % of the whole 248 MiB over the 29.
MAX_CLI_OVER_TORCH_MIB = 29 + 62


def _after(code: str) -> dict:
    """What a fresh Python has imported after running ``code``, and its peak RSS in MiB."""
    report = f"""
import json, resource, sys
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
print(json.dumps({{"heavy": [m for m in {HEAVY!r} if m in sys.modules], "rss_mib": rss}}))
"""
    proc = subprocess.run([sys.executable, "-c", code + report], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_the_command_line_imports_no_analysis_library():
    assert _after("import sparsernn.cli")["heavy"] == []


def test_a_worker_imports_no_analysis_library():
    assert _after(WORKER)["heavy"] == []
    assert _after("import sparsernn.cli\n" + WORKER)["heavy"] == []  # a spawned worker of the console script


def test_the_command_line_adds_little_memory_to_torch():
    pytest.importorskip("resource")
    extra = _after("import sparsernn.cli")["rss_mib"] - _after("import torch")["rss_mib"]
    assert extra < MAX_CLI_OVER_TORCH_MIB, f"importing sparsernn.cli adds {extra:.0f} MiB to torch's import"
