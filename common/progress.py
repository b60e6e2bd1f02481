"""What a long run tells the person watching it: one line per stage, so a first run reads as a
list of what happened (progress bars, where they exist, sit under these lines)."""
from __future__ import annotations

import time

_START = time.perf_counter()


def stage(name: str) -> None:
    """Print ``== <name>`` with the seconds since the process started."""
    print(f"== {name} ({time.perf_counter() - _START:.0f} s)", flush=True)
