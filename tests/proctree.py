"""Small process helpers for the kill tests: a free port in a given range and the
children of a pid we started (read from /proc, no extra package)."""

import os
import socket
from pathlib import Path


def free_port_in(ports: range) -> int:
    """The first port of `ports` nobody listens on (xdist workers take different halves)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    half = len(ports) // 2
    ordered = list(ports[half:]) + list(ports[:half]) if worker % 2 else list(ports)
    for port in ordered:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (only processes that `pid`, which we started, forked)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
