"""Small process helpers for the kill tests: a free port in a given range and the
children of a pid we started (read from /proc, no extra package)."""

import os
import socket
from pathlib import Path


def worker_ports(ports: range) -> range:
    """This xdist worker's slice of `ports`: as many slices as workers, so two workers
    never race for one port (the bind check below is only a check)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    size = len(ports) // workers
    if size < 1:
        raise RuntimeError(f"ports {ports.start}-{ports.stop - 1} are too few for {workers} workers")
    return ports[worker * size:(worker + 1) * size]


def free_port_in(ports: range) -> int:
    """The first port of this worker's slice of `ports` nobody listens on."""
    for port in worker_ports(ports):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1} for this worker")


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
