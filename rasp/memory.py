"""How much memory this machine can give a command, and the one refusal for work whose
estimate does not fit: compile, train, draw and model loading all estimate first and ask
here before allocating, so an impossible request is a short error, not gigabytes and a crash.
"""

from __future__ import annotations

import os
import resource

from .errors import RaspError, RaspInputError

# Part of the available memory an estimate may claim: estimates are rough, and the
# process, its libraries and the rest of the machine need room too.
USABLE_FRACTION = 0.8


def available_memory() -> int:
    """Bytes this process can still allocate: the kernel's MemAvailable, capped by an
    address-space limit (ulimit -v) if one is set; RASP_MEMORY_BYTES overrides both."""
    override = os.environ.get("RASP_MEMORY_BYTES")
    if override and override.isdigit():
        return int(override)
    free = _mem_available()
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        free = min(free, soft)
    return free


def _mem_available() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: do not refuse on memory


def gigabytes(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.1f} MB"


def check_fits(estimate: float, what: str, hint: str | None = None, error: type[RaspError] = RaspInputError) -> None:
    """Refuse `what` if its estimated peak memory (bytes) exceeds what the machine can give."""
    usable = available_memory() * USABLE_FRACTION
    if estimate > usable:
        raise error(
            f"{what} would need about {gigabytes(estimate)} of memory; this machine can give about "
            f"{gigabytes(usable)}",
            hint=hint,
        )
