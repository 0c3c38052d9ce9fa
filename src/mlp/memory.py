"""The memory guard: how much this machine can give, asked once before anything large is
allocated (a network to train, a model file to read), so that a request too large is refused
with a message instead of NumPy filling gigabytes until the kernel ends the process."""

from __future__ import annotations

#: The cap where the available memory cannot be read (not Linux).
FALLBACK_CAP = 8 * 2**30


def memory_cap() -> int:
    """Bytes this machine can give without swapping: MemAvailable on Linux, else 8 GiB."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return FALLBACK_CAP


def check_fits(what: str, nbytes: int) -> None:
    """Raise ValueError if ``nbytes`` exceeds what the machine can give; ``what`` starts the
    message and names what to make smaller."""
    cap = memory_cap()
    if nbytes > cap:
        raise ValueError(f"{what} needs about {human_bytes(nbytes)} of memory, more than the "
                         f"{human_bytes(cap)} available: choose smaller sizes")


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")
