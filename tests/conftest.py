"""Settings for the whole test session.

Tiers: ``python -m pytest`` runs every test; ``python -m pytest -m "not slow"`` skips the
tests marked ``slow`` (over ~1 s: real trainings, worker processes, subprocesses, the Ray
cluster) and runs in under a minute on 2 CPU cores. Tests marked ``cuda`` need a GPU and
are skipped where torch sees none.
"""

import os

import pytest
import torch

# One torch thread in the test process, unless OMP_NUM_THREADS says otherwise. The tests
# train tiny models, which gain nothing from a second thread; on a busy machine (a CI
# runner, a training job alongside) OpenMP threads that spin-wait for a core make them
# 10-15 times slower (tests/test_train.py and test_nn_masked.py on 2 busy cores: 9 s with
# one thread, 110-130 s with two). Subprocesses inherit the variable; worker processes
# still set their own thread count (sparsernn.studies.executors).
if "OMP_NUM_THREADS" not in os.environ:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked ``cuda`` where torch sees no CUDA device."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)
