"""A PostgreSQL of the test's own (initdb + pg_ctl on a spare port, data and socket in a
temporary folder owned by the postgres user), so a chaos test can restart it without
touching the shared server. Runs as root (CI and these machines): the server runs as
the postgres user via runuser."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class OwnPostgres:
    """`host`: the one address it listens on; `netns`: a network namespace to run it in
    (`ip netns exec`), with `clients` (a CIDR) allowed in pg_hba.conf; `settings`:
    extra `-c name=value` server settings."""

    def __init__(self, port: int, *, host: str = "127.0.0.1", netns: str | None = None,
                 clients: str | None = None, settings: dict | None = None):
        if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
            raise RuntimeError(f"needs root, runuser and PostgreSQL's binaries in {PG_BIN}")
        self.port = port
        self.host = host
        self.prefix = ["ip", "netns", "exec", netns] if netns else []
        self.settings = settings or {}
        self.base = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        shutil.chown(self.base, "postgres", "postgres")
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8")
        if clients:
            with open(self.data / "pg_hba.conf", "a") as hba:
                hba.write(f"host all all {clients} trust\n")

    def _as_postgres(self, *args: str, timeout: float = 120) -> None:
        subprocess.run([*self.prefix, "runuser", "-u", "postgres", "--", *args], check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses={self.host}"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                          "-w", "-t", "60", action, *extra)

    def start(self) -> None:
        self.pg_ctl("start")

    def restart(self) -> None:
        """Fast: open transactions are rolled back, clients are disconnected."""
        self.pg_ctl("restart", "-m", "fast")

    def url(self, name: str) -> str:
        return f"postgres://postgres@{self.host}:{self.port}/{name}"

    def connect(self, name: str = "postgres"):
        return psycopg2.connect(host=self.host, port=self.port, user="postgres", dbname=name, connect_timeout=5)

    def create_database(self, name: str) -> str:
        conn = self.connect()
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
