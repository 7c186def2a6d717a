"""Memory a piece of work takes: the process's resident memory, sampled while it runs.

:class:`PeakMemory` measures **peak_rss_mib**: the largest resident set size (RSS) of
the current process seen while the ``with`` block ran, minus the RSS when it started,
in MiB (2**20 bytes), sampled every ``interval`` seconds by a background thread (and
once at each end). It is what the block added on top of what the process already held:
memory the allocator freed earlier and reuses is not counted again, so a trial run after
a larger one in the same worker can read low; and a peak shorter than ``interval`` can
be missed. Where ``/proc/self/statm`` does not exist (not Linux) it reads 0.

Examples
--------
>>> import numpy as np
>>> with PeakMemory() as memory:
...     block = np.ones(32 * 2**20 // 8)          # 32 MiB, touched
>>> memory.peak_mib >= 0
True
"""

from __future__ import annotations

import os
import threading

__all__ = ["PeakMemory", "resident_mib"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_mib() -> float:
    """The current process's resident set size in MiB (0.0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class PeakMemory:
    """Context manager: ``peak_mib`` is the peak RSS of the block above its start (see the module)."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.start_mib = self._peak = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, resident_mib())

    def __enter__(self) -> PeakMemory:
        self.start_mib = self._peak = resident_mib()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, resident_mib())

    @property
    def peak_mib(self) -> float:
        """Peak RSS during the block minus RSS at its start, in MiB (>= 0)."""
        return max(self._peak - self.start_mib, 0.0)
