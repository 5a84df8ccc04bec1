"""More than one host (issue 14 item 6, RELIABILITY.md "more than one host"): two app
hosts built as Linux network namespaces on this machine, each running web (gunicorn) and
a worker (Celery, prefork), sharing one PostgreSQL and one Redis that live in a third
namespace, with one beat (on host B). A bridge in the test's own namespace joins the
three, on addresses of the test's own, so the test pushes to both hosts and reads the
database directly.

Load, spread over both hosts by a small client-side balancer (round robin over the hosts
it has not seen fail): signed acquirer pushes of events for swipes pushed before; waves of
new swipes of a polled channel (a simulated acquirer in the services namespace answers
the workers' polls, beat enqueues them every second); late scans published straight to
Redis every second (consumed by both workers at once) for swipes captured ten days ago.
A third of the way through, host A is cut off: its interface is taken down (no FIN, no
RST: its connections just stop answering), then every process in its namespace is
killed -9, by pid. Host B finishes: every pushed event is applied once, every swipe
polled to its final state with each simulated event stored once, each late swipe has
exactly one case and no swipe two.

What the cut leaves behind and why it does not matter: host A's PostgreSQL sessions (an
open transaction may hold a receipt's unique-index entry or row locks) are ended by the
server's TCP keepalive / tcp_user_timeout within seconds (set below, as production must:
docs/capacity.md); messages host A's worker had taken from Redis are lost with it (Redis's
visibility timeout is an hour), and the rows re-derive them: a leased poll is due again
after POLL_LEASE_SECONDS and beat re-enqueues it, the next late scan finds the same swipes.

Needs root and `ip netns` (CI runs on the same kind of machine as root): without them
the test fails, it does not skip. Namespaces, bridge and processes are removed in a
finalizer whatever happens. MULTIHOST_NET (a /24 prefix such as 10.214.1) and
MULTIHOST_PREFIX (names) override the defaults."""

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
import requests

from channels.api.signing import signed_headers
from tests.channels.conftest import SECRET
from tests.chaos_pg import OwnPostgres
from tests.proctree import alive
from tests.simproc import ROOT, SIM_POLL_SECRET, SIM_SECRET, Proc, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("multihost")]

# Ports inside the test's own namespaces: nothing else listens there, so no collisions.
PG_PORT, REDIS_PORT, WEB_PORT, SIM_PORT = 5432, 6379, 8000, 9100
PUSH_SWIPES = 150  # three events each, pushed in batches over both hosts
BATCH = 15
PUSHERS = 3
LATE_SWIPES = 40  # captured ten days ago, never settled: the late scans open a case each
WAVE = 10  # polled swipes per wave of the feeder
MIN_WAVES_AFTER_CUT = 4
CUT_AFTER = 1 / 3  # of the event batches answered
POLL_LINE = re.compile(r"Task channels\.tasks\.poll_channel\[([0-9a-f-]{36})\] (received|succeeded)")
DEADLINE = 150  # seconds for the whole test: it fails rather than hangs

SETUP = """
import django; django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from channels.models import Channel
from tests.factories import ChannelFactory, MerchantFactory
push = ChannelFactory(code="mhpush", secret={push_secret!r})
MerchantFactory(channel=push, merchant_no="MMH0001")
poll = ChannelFactory(code="mhpoll", secret={sim_secret!r})
Channel.objects.filter(pk=poll.pk).update(poll_url={poll_url!r}, poll_secret={poll_secret!r},
                                          poll_interval_seconds=1, poll_enabled=True)
MerchantFactory(channel=poll, merchant_no="MPOLL01")
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
    return done


class Network:
    """Three namespaces (services, host A, host B), each with one veth whose other end
    is on a bridge in the test's namespace; the bridge holds .1 of the test's /24."""

    LOCK = Path(tempfile.gettempdir()) / "multihost-netns.lock"

    def __init__(self):
        if os.geteuid() != 0 or shutil.which("ip") is None:
            pytest.fail("the multi-host test builds Linux network namespaces: it needs root and iproute2's `ip`")
        self.prefix = os.environ.get("MULTIHOST_PREFIX") or f"mh{os.getpid() % 100000}"
        self.bridge = f"{self.prefix}br"
        self.ns = {role: f"{self.prefix}-{role}" for role in ("svc", "a", "b")}
        self.created: list[str] = []
        self.bridge_made = False
        with open(self.LOCK, "w") as lock:  # two runs at once never pick the same /24
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.net = self._pick_net()
            self.addr = {"root": f"{self.net}.1", "svc": f"{self.net}.10", "a": f"{self.net}.11",
                         "b": f"{self.net}.12"}
            self._remove_leftovers()
            try:
                self._build()
            except (RuntimeError, subprocess.SubprocessError) as exc:
                self.teardown()
                pytest.fail(f"`ip netns` does not work here, the multi-host test cannot run: {exc}")

    @staticmethod
    def _pick_net() -> str:
        if os.environ.get("MULTIHOST_NET"):
            return os.environ["MULTIHOST_NET"].rstrip(".")
        used = sh("ip", "-4", "route", "show", "table", "all").stdout + sh("ip", "-4", "addr").stdout
        for third in range(256):  # 198.18.0.0/15 is set aside for network tests (RFC 2544)
            net = f"198.18.{third}"
            if f" {net}." not in used and f"\n{net}." not in used:
                return net
        raise RuntimeError("no free /24 in 198.18.0.0/16")

    def _remove_leftovers(self) -> None:
        """A run of the same prefix that was killed before its finalizer (names are ours)."""
        existing = sh("ip", "netns", "list").stdout.split()
        for name in self.ns.values():
            if name in existing:
                self.kill_all(name)
                sh("ip", "netns", "del", name, check=False)
        sh("ip", "link", "del", self.bridge, check=False)

    def _build(self) -> None:
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self.bridge_made = True
        sh("ip", "addr", "add", f"{self.addr['root']}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for role, name in self.ns.items():
            sh("ip", "netns", "add", name)
            self.created.append(name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
            outside = f"{self.prefix}{role}"
            sh("ip", "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", name)
            sh("ip", "link", "set", outside, "master", self.bridge)
            sh("ip", "link", "set", outside, "up")
            sh("ip", "-n", name, "addr", "add", f"{self.addr[role]}/24", "dev", "eth0")
            sh("ip", "-n", name, "link", "set", "eth0", "up")

    def exec(self, role: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns[role]]

    def cut(self, role: str) -> None:
        sh("ip", "-n", self.ns[role], "link", "set", "eth0", "down")

    @staticmethod
    def pids(name: str) -> list[int]:
        done = sh("ip", "netns", "pids", name, check=False)
        return [int(p) for p in done.stdout.split()] if done.returncode == 0 else []

    def kill_all(self, name: str) -> list[int]:
        """kill -9 every process in one of the test's namespaces (all of them started here)."""
        pids = self.pids(name)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def teardown(self) -> None:
        for name in reversed(self.created):
            self.kill_all(name)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for n in self.created for p in self.pids(n)):
            time.sleep(0.1)
        for role, name in self.ns.items():
            if name in self.created:
                # The pair goes with its end out here at once; a namespace itself lingers (with its
                # eth0) while the kernel still retransmits for its orphaned TCP sockets.
                sh("ip", "link", "del", f"{self.prefix}{role}", check=False)
        for name in reversed(self.created):
            sh("ip", "netns", "del", name, check=False)
        if self.bridge_made:
            sh("ip", "link", "del", self.bridge, check=False)
        self.created = []


class Balancer:
    """Round robin over the hosts not seen failing; a host that failed is left out."""

    def __init__(self, bases: dict[str, str]):
        self.bases = bases
        self.down: set[str] = set()
        self.turn = 0
        self.lock = threading.Lock()

    def pick(self) -> str:
        with self.lock:
            live = [h for h in self.bases if h not in self.down] or list(self.bases)
            self.turn += 1
            return live[self.turn % len(live)]

    def failed(self, host: str) -> None:
        with self.lock:
            self.down.add(host)


class Cluster:
    def __init__(self, net: Network, tmp: Path):
        self.net = net
        self.tmp = tmp
        self.procs: dict[str, Proc] = {}
        self.pg: OwnPostgres | None = None

    def start(self) -> None:
        net, svc = self.net, self.net.addr["svc"]
        self.pg = OwnPostgres(PG_PORT, host=svc, netns=net.ns["svc"], clients=f"{net.net}.0/24", settings={
            # A cut-off client's session (and what its transaction holds) ends within seconds.
            "tcp_keepalives_idle": 2, "tcp_keepalives_interval": 1, "tcp_keepalives_count": 3,
            "tcp_user_timeout": 5000,
            # A throwaway server that is never crashed here: durability costs only setup time.
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
        self.pg.start()
        self.procs["redis"] = Proc([*net.exec("svc"), shutil.which("redis-server") or "redis-server",
                                    "--port", str(REDIS_PORT), "--bind", svc, "--save", "", "--appendonly", "no",
                                    "--protected-mode", "no", "--tcp-keepalive", "5"], log_name="mh-redis")
        self.db_url = self.pg.create_database("mh")
        self.broker_url = f"redis://{svc}:{REDIS_PORT}/0"
        self.sim_base = f"http://{svc}:{SIM_PORT}/mhpoll"
        self.bases = {h: f"http://{net.addr[h]}:{WEB_PORT}" for h in ("a", "b")}
        # The processes boot (Django, Celery) while the database is migrated: none touches
        # it before a request or a task comes, and beat (which does) starts after.
        self.procs["sim"] = Proc([*net.exec("svc"), sys.executable, "manage.py", "simulate_acquirer",
                                  "--channel", "mhpoll", "--host", svc, "--port", str(SIM_PORT),
                                  "--scenario", "normal", "--speed", "36000", "--rate", "0", "--state", ":memory:",
                                  "--secret", SIM_SECRET, "--poll-secret", SIM_POLL_SECRET,
                                  "--merchant", "MPOLL01:T1", "--latency-ms", "1000"],
                                 env=self.app_env("sim"), log_name="mh-sim")
        for host in ("a", "b"):
            env = self.app_env(host)
            self.procs[f"web-{host}"] = Proc(
                [*net.exec(host), str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "--workers", "1",
                 "--threads", "4", "--bind", f"{net.addr[host]}:{WEB_PORT}", "--timeout", "30"],
                env=env, log_name=f"mh-web-{host}")
            self.procs[f"worker-{host}"] = Proc(
                [*net.exec(host), sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "2",
                 "-n", f"{host}@multihost", "--without-gossip", "--without-mingle", "--without-heartbeat",
                 "--loglevel", "INFO"], env=env, log_name=f"mh-worker-{host}")
        setup = SETUP.format(push_secret=SECRET, sim_secret=SIM_SECRET, poll_url=self.sim_base + "/status",
                             poll_secret=SIM_POLL_SECRET)
        done = subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env={**os.environ, **self.app_env("setup")},
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, f"migrate and setup: {done.stderr[-3000:]}"
        self.procs["beat"] = Proc(
            [*net.exec("b"), sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
             "--pidfile", str(self.tmp / "b" / "beat.pid")], env=self.app_env("b"), log_name="mh-beat")

    def app_env(self, host: str) -> dict:
        var = self.tmp / host
        var.mkdir(exist_ok=True)
        return {
            "DATABASE_URL": self.db_url, "CELERY_BROKER_URL": self.broker_url, "VAR_DIR": str(var),
            "DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": f"{self.net.addr['a']},{self.net.addr['b']}",
            "POLL_PLAIN_HTTP_HOSTS": self.net.addr["svc"], "POLL_BEAT_SECONDS": "1", "POLL_LEASE_SECONDS": "5",
            "POLL_BATCH_SIZE": "10", "POLL_READ_TIMEOUT": "5", "NOTIFICATION_EMAIL_SWEEP_AFTER_SECONDS": "5",
            "RECON_PULL_ENABLED": "false", "PYTHONUNBUFFERED": "1",
        }

    def wait_up(self) -> None:
        def up():
            for name, proc in self.procs.items():
                if proc.popen.poll() is not None:
                    raise AssertionError(f"{name} exited: {proc.output()[-3000:]}")
            try:
                return all(requests.get(base + "/healthz", timeout=2).status_code == 200
                           for base in self.bases.values()) and requests.get(
                    self.sim_base.rsplit("/", 1)[0] + "/healthz", timeout=2).ok and all(
                    "ready" in self.procs[f"worker-{h}"].output() for h in ("a", "b"))
            except requests.RequestException:
                return False

        wait_for(up, timeout=90, interval=0.5, message="both hosts' web and worker, and the simulator")

    def query(self, sql: str, *args) -> list[tuple]:
        conn = psycopg2.connect(self.db_url, connect_timeout=5)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, args or None)
                return cursor.fetchall()
        finally:
            conn.close()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGKILL)
        for proc in self.procs.values():
            try:
                proc.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            proc.log.close()
        if self.pg is not None:
            try:
                self.pg.stop()
            except (subprocess.SubprocessError, OSError):
                shutil.rmtree(self.pg.base, ignore_errors=True)


@pytest.fixture
def cluster():
    (ROOT / "var").mkdir(exist_ok=True)
    net = Network()
    tmp = Path(tempfile.mkdtemp(prefix="multihost-"))
    made = Cluster(net, tmp)
    began = time.monotonic()
    try:
        made.start()
        made.wait_up()
        print(f"multihost: namespaces on {net.net}.0/24, stack up in {time.monotonic() - began:.1f} s")
        yield made
    finally:
        made.stop()
        net.teardown()
        shutil.rmtree(tmp, ignore_errors=True)


def post(base: str, path: str, payload: dict, *, secret: str, msg_id: str):
    body = json.dumps(payload).encode()
    return requests.post(base + path, data=body, headers=signed_headers(secret, body, msg_id=msg_id),
                         timeout=(2, 10))


def test_one_host_cut_off_mid_load_and_the_other_finishes_every_event_poll_and_case_once(cluster):
    started = time.monotonic()
    lb = Balancer(cluster.bases)
    lock = threading.Lock()
    problems: list[str] = []
    answered: dict[str, str] = {}  # event id -> result, from 200 answers
    by_host: Counter = Counter()  # "a 200", "a failed", ...
    fed: list[str] = []  # polled swipes fed so far
    state = {"cut_at": None, "waves_after_cut": 0, "batches_answered": 0}
    pushing_done = threading.Event()

    def deliver(path: str, payload: dict, *, secret: str, msg_id: str, channel: str = "mhpush") -> dict | None:
        """One signed write, retried (same webhook-id) on the next live host until answered."""
        for _attempt in range(40):
            host = lb.pick()
            try:
                response = post(cluster.bases[host], f"/api/v1/acquirer/{channel}/{path}", payload,
                                secret=secret, msg_id=msg_id)
            except requests.RequestException as exc:
                with lock:
                    by_host[f"{host} {type(exc).__name__}"] += 1
                lb.failed(host)
                continue
            with lock:
                by_host[f"{host} {response.status_code}"] += 1
            if response.status_code == 200:
                return response.json()
            if response.status_code < 500:
                problems.append(f"{path} {msg_id} on {host}: {response.status_code} {response.text[:300]}")
                return None
            time.sleep(0.2)
        problems.append(f"{path} {msg_id} never answered 200")
        return None

    # given: swipes pushed before the load (events to come for some, ten days late the others)
    now = datetime.now(UTC)
    captured = now - timedelta(hours=3)
    refs = [f"MHP{i:04d}" for i in range(PUSH_SWIPES)]
    late_refs = [f"MHLATE{i:03d}" for i in range(LATE_SWIPES)]

    def swipe(ref: str, merchant: str, at: datetime) -> dict:
        return {"reference": ref, "merchant_no": merchant, "amount": "88.00", "currency": "CNY",
                "masked_pan": "622202******1234", "method": "chip", "captured_at": at.isoformat()}

    answer = deliver("transactions", {"transactions": [swipe(r, "MMH0001", captured) for r in refs] + [
        swipe(r, "MMH0001", now - timedelta(days=10)) for r in late_refs]}, secret=SECRET, msg_id="mh-swipes")
    assert answer and Counter(r["result"] for r in answer["results"]) == {"created": PUSH_SWIPES + LATE_SWIPES}
    events = [{"event_id": f"mh-{ref}-{kind}", "reference": ref, "type": kind,
               "occurred_at": (captured + timedelta(minutes=minutes)).isoformat()}
              for ref in refs for kind, minutes in (("cleared", 10), ("settled", 40), ("credited", 70))]
    batches = [events[i:i + BATCH] for i in range(0, len(events), BATCH)]

    def pusher(number: int) -> None:
        for index in range(number, len(batches), PUSHERS):
            if index >= len(batches) * CUT_AFTER:  # the rest waits for the test to be ready to cut
                release.wait(timeout=60)
            answer = deliver("events", {"events": batches[index]}, secret=SECRET, msg_id=f"mh-events-{index}")
            if answer is None:
                return
            with lock:
                for result in answer["results"]:
                    answered[result["event_id"]] = result["result"]
                state["batches_answered"] += 1
            time.sleep(0.1)

    def feeder() -> None:
        """Waves of new swipes of the polled channel: planned at the simulator, pushed to us."""
        wave = 0
        while not pushing_done.is_set() or state["cut_at"] is None or state["waves_after_cut"] < MIN_WAVES_AFTER_CUT:
            if time.monotonic() - started > DEADLINE - 40:
                problems.append("the feeder ran out of time")
                return
            at = datetime.now(UTC) - timedelta(minutes=5)
            wave_refs = [f"MHQ{wave:03d}{i:02d}" for i in range(WAVE)]
            planned = requests.post(cluster.sim_base + "/swipes", timeout=10, json={"swipes": [
                {"reference": r, "merchant_no": "MPOLL01", "amount": "66.00", "captured_at": at.isoformat()}
                for r in wave_refs]})
            if planned.status_code != 200:
                problems.append(f"the simulator refused wave {wave}: {planned.text[:300]}")
                return
            answer = deliver("transactions", {"transactions": [swipe(r, "MPOLL01", at) for r in wave_refs]},
                             secret=SIM_SECRET, msg_id=f"mh-wave-{wave}", channel="mhpoll")
            if answer is None:
                return
            with lock:
                fed.extend(wave_refs)
                if state["cut_at"] is not None:
                    state["waves_after_cut"] += 1
            wave += 1
            time.sleep(0.7)

    def scanner() -> None:
        """Late scans straight onto the shared queue: both workers scan at once."""
        from kombu import Connection

        from config.celery import app

        with Connection(cluster.broker_url, connect_timeout=5) as conn:
            while not stop_scans.is_set():
                app.send_task("settlement.tasks.flag_delays", connection=conn)
                time.sleep(1)

    stop_scans = threading.Event()
    release = threading.Event()
    pushers = [threading.Thread(target=pusher, args=(n,), daemon=True) for n in range(PUSHERS)]
    helpers = [threading.Thread(target=feeder, daemon=True), threading.Thread(target=scanner, daemon=True)]
    for thread in pushers + helpers:
        thread.start()

    # when: a third of the way through, host A is cut off (interface down), then killed
    first = sum(1 for i in range(len(batches)) if i < len(batches) * CUT_AFTER)
    wait_for(lambda: state["batches_answered"] >= first or problems, timeout=60, interval=0.05,
             message="a third of the event batches answered")
    assert not problems, problems

    def a_mid_poll() -> bool:
        """Host A's worker has received a poll it has not finished (waiting on the simulator)."""
        seen: dict[str, set] = {}
        for task_id, what in POLL_LINE.findall(cluster.procs["worker-a"].output()):
            seen.setdefault(task_id, set()).add(what)
        return any(what == {"received"} for what in seen.values())

    try:  # best effort: cut while host A holds leased rows, so host B must pick them up
        wait_for(a_mid_poll, timeout=15, interval=0.02, message="host A in the middle of a poll")
        mid_poll = True
    except AssertionError:
        mid_poll = False
    release.set()  # the remaining two thirds of the pushes start; some are in flight at the cut
    time.sleep(0.3)
    a_before = {k: v for k, v in by_host.items() if k.startswith("a ")}
    a_tasks_before = cluster.procs["worker-a"].output().count("] received")
    cluster.net.cut("a")
    state["cut_at"] = time.monotonic()
    time.sleep(1)  # whatever host A had in flight stays in flight, unanswered
    killed = cluster.net.kill_all(cluster.net.ns["a"])
    for name in ("web-a", "worker-a"):
        cluster.procs[name].popen.wait(timeout=10)
    wait_for(lambda: not any(alive(p) for p in killed), timeout=10, message="host A's processes gone")
    batches_at_cut = state["batches_answered"]

    for thread in pushers:
        thread.join(timeout=max(1, DEADLINE - (time.monotonic() - started) - 30))
    pushing_done.set()
    assert not any(t.is_alive() for t in pushers), f"a pusher did not finish: {by_host}"
    helpers[0].join(timeout=max(1, DEADLINE - (time.monotonic() - started) - 25))
    stop_scans.set()
    helpers[1].join(timeout=10)
    assert not problems, problems

    # then: host B finishes everything
    polled = set(fed)

    def finished() -> bool:
        rows = cluster.query("SELECT t.reference, t.status, t.next_poll_at IS NULL FROM settlement_transaction t "
                             "JOIN channels_channel c ON c.id = t.channel_id WHERE c.code = 'mhpoll'")
        polls_done = {r for r, status, cleared in rows if status == "credited" and cleared} == polled
        pushed_done = cluster.query(
            "SELECT count(*) FROM settlement_transaction WHERE reference LIKE 'MHP%' AND status = 'credited'"
        )[0][0]
        cases = cluster.query("SELECT count(DISTINCT f.transaction_id) FROM settlement_followupcase f "
                              "JOIN settlement_transaction t ON t.id = f.transaction_id "
                              "WHERE t.reference LIKE 'MHLATE%'")[0][0]
        progress.update(polled_not_done=len(polled - {r for r, status, cleared in rows
                                                      if status == "credited" and cleared}),
                        pushed_credited=pushed_done, late_with_case=cases)
        return polls_done and pushed_done == PUSH_SWIPES and cases == LATE_SWIPES

    progress: dict = {}
    try:
        wait_for(finished, timeout=max(5, DEADLINE - (time.monotonic() - started)), interval=1,
                 message="host B to finish the polls and the late scans")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {progress} (of {len(polled)} polled, {PUSH_SWIPES} pushed, "
                             f"{LATE_SWIPES} late); hosts {dict(by_host)}") from None

    # the load was spread over both hosts, and host A was cut off mid-load
    assert a_before.get("a 200", 0) >= 1 and by_host["b 200"] >= 1, by_host
    assert a_tasks_before >= 1, "host A's worker took no task before the cut"
    assert batches_at_cut < len(batches), "the pushes were over before the cut"
    assert state["waves_after_cut"] >= MIN_WAVES_AFTER_CUT
    assert any(k.startswith("a ") and not k.endswith(" 200") for k in by_host), f"nobody met the cut: {by_host}"
    for name in ("web-b", "worker-b", "beat", "redis", "sim"):
        assert cluster.procs[name].popen.poll() is None, f"{name} died: {cluster.procs[name].output()[-3000:]}"

    # every event applied once: each pushed event was answered and is stored exactly once
    assert set(answered) == {e["event_id"] for e in events}
    assert set(answered.values()) <= {"applied", "duplicate"}, Counter(answered.values())
    stored = dict(cluster.query(
        "SELECT e.event_id, count(*) FROM settlement_settlementevent e JOIN channels_channel c "
        "ON c.id = e.channel_id WHERE c.code = 'mhpush' AND e.type NOT IN ('captured', 'rescheduled', 'delayed') "
        "GROUP BY e.event_id"))
    assert set(stored) == set(answered) and set(stored.values()) == {1}

    # every due poll done: each simulated event of each fed swipe stored exactly once
    simulated = {e["event_id"] for e in requests.get(cluster.sim_base + "/events", timeout=10).json()["events"]
                 if e["reference"] in polled}
    polled_stored = dict(cluster.query(
        "SELECT e.event_id, count(*) FROM settlement_settlementevent e JOIN channels_channel c "
        "ON c.id = e.channel_id WHERE c.code = 'mhpoll' AND e.type NOT IN ('captured', 'rescheduled', 'delayed') "
        "GROUP BY e.event_id"))
    assert simulated and set(polled_stored) == simulated and set(polled_stored.values()) == {1}

    # no case duplicated: each late swipe has one case, no swipe has two
    per_swipe = dict(cluster.query("SELECT transaction_id, count(*) FROM settlement_followupcase "
                                   "WHERE transaction_id IS NOT NULL GROUP BY transaction_id"))
    assert set(per_swipe.values()) == {1}, Counter(per_swipe.values())
    found_late = Counter(dict(cluster.query(
        "SELECT t.reference, count(*) FROM settlement_settlementevent e JOIN settlement_transaction t "
        "ON t.id = e.transaction_id WHERE e.type = 'delayed' GROUP BY t.reference")))
    assert set(found_late) == set(late_refs) and set(found_late.values()) == {1}  # each found late once

    worker_b = cluster.procs["worker-b"].output()
    assert " raised unexpected" not in worker_b, worker_b[-4000:]
    b_tasks = Counter(line.split("Task ", 1)[1].split("[", 1)[0] for line in worker_b.splitlines()
                      if "] succeeded in " in line)
    print(f"hosts: {dict(by_host)}; batches at the cut {batches_at_cut}/{len(batches)}; fed {len(polled)} polled "
          f"swipes; cut mid-poll: {mid_poll}; host A took {a_tasks_before} tasks before the cut, host B {dict(b_tasks)}; "
          f"{time.monotonic() - started:.1f} s after the stack was up")
