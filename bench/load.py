"""Load on the production stack, started natively: gunicorn and a Celery worker on a bench
data set, driven by logged-in users from a second process (locust, headless).

    bench/load --database-url postgres://postgres@127.0.0.1:5432/crm_bench            # 50 users, 120 s
    bench/load --database-url …/crm_bsmall --users 20 --duration 60 --pipeline

PostgreSQL and Redis must be running. In order: `collectstatic`, gunicorn with the
project's gunicorn.conf.py (DEBUG=0, production settings: persistent database
connections) on 127.0.0.1, a Celery worker, a health check of both, a session for each
bench user; then locust drives reps, managers and an admin of the data set, logged in
with those sessions (bench/locustfile.py), for the duration,
each thinking 1–3 s between requests: list, filter, search, customer file, start page,
dashboard, churn list, lost list, logging an interaction and, when the data set has
members, redeeming a point. Interactions and redemptions stay in the database.

With `--pipeline`, a run of the nightly pipeline is queued to the worker (as the nightly
beat task does) a fifth into the load; its duration and the pages' p95 while it ran are
reported beside the rest.

Reports requests/s, p50/p95/p99 and errors per page and overall, and the CPU used by
gunicorn (master and workers), the Celery worker, PostgreSQL's backends on this database
and locust, read from /proc, in % of one core over the load. Everything it starts is
stopped on the way out, on an error or an interrupt too.
"""

import argparse
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.build_dataset import DEFAULT_URL  # noqa: E402
from bench.figures import add_json_argument, reporting  # noqa: E402

VENV_BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument(
        "--broker-url",
        default=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0",
        help="the Redis database of the worker's queue",
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started a second")
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument("--think-min", type=float, default=1.0)
    parser.add_argument("--think-max", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--pipeline", action="store_true", help="queue a pipeline run during the load"
    )
    add_json_argument(parser)
    return parser.parse_args(argv)


class Stack:
    """The processes started here, each in its own process group, all stopped by `stop`."""

    def __init__(self, env, logs):
        self.env, self.logs, self.processes = env, logs, {}

    def start(self, name, command):
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115
        self.processes[name] = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.processes[name]

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def run_manage(env, *args):
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def wait_healthy(stack, url, timeout=90):
    """The login page answers 200 and the worker answers a ping, or SystemExit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in stack.processes.items():
            if process.poll() is not None:
                raise SystemExit(
                    f"{name} exited ({process.returncode}); see {stack.logs}/{name}.log"
                )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        time.sleep(1)
    else:
        raise SystemExit(f"gunicorn did not answer {url} within {timeout} s")
    ping = subprocess.run(
        [str(VENV_BIN / "celery"), "-A", "crm_site", "inspect", "ping", "--timeout", "10"],
        cwd=BASE_DIR,
        env=stack.env,
        capture_output=True,
        text=True,
    )
    if ping.returncode:
        raise SystemExit(f"the Celery worker does not answer: {ping.stdout[-500:]}")


def has_members(env):
    code = "from loyalty.models import Membership; print(int(Membership.objects.exists()))"
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().endswith("1")


# -- logged-in users ---------------------------------------------------------------------

SESSIONS_CODE = """
import json, os
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
store = import_module(settings.SESSION_ENGINE).SessionStore
sessions = {}
for user in get_user_model().objects.filter(username__startswith="bench_", is_active=True):
    session = store()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    sessions[user.username] = session.session_key
json.dump(sessions, open(os.environ["BENCH_SESSIONS"], "w"))
"""

SESSIONS_DELETE_CODE = """
import json, os
from importlib import import_module
from django.conf import settings
store = import_module(settings.SESSION_ENGINE).SessionStore
for key in json.load(open(os.environ["BENCH_SESSIONS"])).values():
    store(session_key=key).delete()
"""


def logged_in_sessions(env, path):
    """A session for each bench user, as a login through the form would leave it: the load
    drives users already logged in, not the password hash of 50 logins at once."""
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SESSIONS_CODE],
        cwd=BASE_DIR,
        env={**env, "BENCH_SESSIONS": str(path)},
        check=True,
        capture_output=True,
    )


def sessions_delete(env, path):
    if path.exists():
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SESSIONS_DELETE_CODE],
            cwd=BASE_DIR,
            env={**env, "BENCH_SESSIONS": str(path)},
            capture_output=True,
        )


# -- CPU, from /proc ---------------------------------------------------------------------


def proc_table():
    """pid -> (ppid, cmdline, cpu seconds) for every process we may read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        table[int(entry)] = (int(fields[1]), cmdline, cpu)
    return table


def descendants(table, root):
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _c, _t) in table.items() if ppid == parent]
        found.update(children)
        frontier.extend(children)
    return found


class CpuSampler(threading.Thread):
    """Every second, the CPU seconds of each group's processes; a process seen first after
    the start counts from zero. Groups: the started processes' trees, and PostgreSQL's
    backends connected to `database`."""

    def __init__(self, roots, database):
        super().__init__(daemon=True)
        self.roots, self.database = roots, database
        self.first, self.last, self.sampled = {}, {}, False
        self.stopping = threading.Event()
        self.machine = [machine_cpu(), None]

    def groups(self, table):
        grouped = {name: descendants(table, pid) & table.keys() for name, pid in self.roots.items()}
        grouped["postgres"] = {
            pid
            for pid, (_p, cmdline, _t) in table.items()
            if cmdline.startswith("postgres: ") and f" {self.database} " in cmdline
        }
        return grouped

    def sample(self):
        table = proc_table()
        for name, pids in self.groups(table).items():
            for pid in pids:
                key = (name, pid)
                self.first.setdefault(key, 0.0 if self.sampled else table[pid][2])
                self.last[key] = table[pid][2]
        self.sampled = True

    def run(self):
        self.started = time.monotonic()
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(1)

    def stop(self):
        self.stopping.set()
        self.join()
        self.sample()
        self.machine[1] = machine_cpu()
        seconds = time.monotonic() - self.started
        used = {}
        for (name, _pid), last in self.last.items():
            used[name] = used.get(name, 0.0) + last - self.first[(name, _pid)]
        busy = self.machine[1][0] - self.machine[0][0]
        total = self.machine[1][1] - self.machine[0][1]
        return {name: 100 * cpu / seconds for name, cpu in used.items()}, 100 * busy / total


def machine_cpu():
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# -- the pipeline during the load --------------------------------------------------------

PIPELINE_CODE = """
import time
from customers.models import PipelineRun
from customers.tasks import nightly_pipeline
run_id = nightly_pipeline()
if run_id is None:
    raise SystemExit("another run is running")
while PipelineRun.objects.filter(pk=run_id, status=PipelineRun.Status.RUNNING).exists():
    time.sleep(0.5)
run = PipelineRun.objects.get(pk=run_id)
print(run_id, run.status, run.started_at.timestamp(), (run.finished_at or run.started_at).timestamp())
"""


def pipeline_during(env, delay, result):
    time.sleep(delay)
    started = time.time()
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PIPELINE_CODE],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        result["error"] = out.stderr[-1000:]
        return
    run_id, status, run_started, run_finished = out.stdout.split()[-4:]
    result.update(
        run=int(run_id),
        status=status,
        queued=started,
        started=float(run_started),
        finished=float(run_finished),
        ended=time.time(),
    )


# -- the report --------------------------------------------------------------------------


def percentile(values, share):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def summarise(samples, seconds):
    ms = [s["ms"] for s in samples]
    return {
        "requests": len(samples),
        "rps": len(samples) / seconds if seconds else 0.0,
        "p50": percentile(ms, 0.50),
        "p95": percentile(ms, 0.95),
        "p99": percentile(ms, 0.99),
        "errors": sum(not s["ok"] for s in samples),
    }


def read_samples(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def report(args, samples, window, cpu, machine_busy, pipeline, figures):
    start, end = window
    timed = [s for s in samples if s["name"] not in ("login", "login page")]
    print(
        f"\n{args.users} users, think {args.think_min:g}–{args.think_max:g} s, "
        f"{end - start:.0f} s of load, gunicorn -w {args.workers}"
    )
    header = (
        f"{'page':18} {'requests':>9} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'errors':>7}"
    )
    print(header + "\n" + "-" * len(header))
    names = sorted({s["name"] for s in samples})
    for name in [*names, "all pages"]:
        rows = timed if name.startswith("all") else [s for s in samples if s["name"] == name]
        r = summarise(rows, end - start)
        print(
            f"{name:18} {r['requests']:9} {r['rps']:7.1f} {r['p50']:7.0f} {r['p95']:7.0f} "
            f"{r['p99']:7.0f} {r['errors']:7}"
        )
    overall = summarise(timed, end - start)
    print(
        "\nCPU in % of one core: "
        + ", ".join(f"{name} {value:.0f} %" for name, value in sorted(cpu.items()))
        + f"; the machine's {os.cpu_count()} CPUs {machine_busy:.0f} % busy, "
        f"load average {os.getloadavg()[0]:.1f} after"
    )
    figures.add("load.rps", overall["rps"], "req/s", label=f"load, {args.users} users: requests/s")
    for key in ("p50", "p95", "p99"):
        figures.add(f"load.{key}", overall[key], "ms", label=f"load: {key} of every page")
    figures.add("load.errors", overall["errors"], "errors", label="load: errors")
    for name in names:
        if name in ("login", "login page"):
            continue
        r = summarise([s for s in samples if s["name"] == name], end - start)
        figures.add(
            f"load.page.{name.replace(' ', '_')}.p95", r["p95"], "ms", label=f"load: {name}, p95"
        )
    for name, value in sorted(cpu.items()):
        figures.add(f"load.cpu.{name}", value, "% of a core", label=f"load: CPU of {name}")
    if pipeline is None:
        return
    if "error" in pipeline:
        print(f"\npipeline run during the load failed to run: {pipeline['error']}")
        return
    during = [s for s in timed if pipeline["started"] <= s["t"] <= pipeline["finished"]]
    outside = [s for s in timed if not pipeline["started"] <= s["t"] <= pipeline["finished"]]
    seconds = pipeline["finished"] - pipeline["started"]
    inside, other = summarise(during, seconds), summarise(outside, end - start - seconds)
    print(
        f"\npipeline run #{pipeline['run']} during the load: {pipeline['status']}, "
        f"{seconds:.1f} s on the worker (queued to done {pipeline['ended'] - pipeline['queued']:.1f} s)"
        f"\n  pages while it ran: {inside['requests']} requests, {inside['rps']:.1f} req/s, "
        f"p50 {inside['p50']:.0f} ms, p95 {inside['p95']:.0f} ms, p99 {inside['p99']:.0f} ms, "
        f"{inside['errors']} errors"
        f"\n  pages the rest of the time: p95 {other['p95']:.0f} ms"
    )
    if pipeline["finished"] > end:
        print("  (the run outlasted the load: give a longer --duration)")
    figures.add(
        "load.pipeline",
        seconds,
        "s",
        label="pipeline run during the load / the same run alone (night.run)",
        reference="night.run",
    )
    figures.add(
        "load.p95_during_pipeline",
        inside["p95"],
        "ms",
        label="load: p95 while the pipeline ran / the rest of the time",
        reference="load.p95_outside_pipeline",
    )
    figures.add("load.p95_outside_pipeline", other["p95"], "ms", label="load: p95 outside the run")


def main(argv=None):
    args = parse_args(argv)
    with reporting(args.json) as figures:
        measure(args, figures)


def measure(args, figures):
    database = args.database_url.rsplit("/", 1)[-1]
    workdir = Path(tempfile.mkdtemp(prefix="crm-load-"))
    env = {
        **os.environ,
        "DEBUG": "0",
        "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": args.broker_url,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": str(workdir / "media"),
    }
    print(f"data set {database}; logs in {workdir}")
    run_manage(env, "migrate", "--noinput", "-v", "0")
    run_manage(env, "collectstatic", "--noinput", "-v", "0")
    redeem = has_members(env)
    sessions = workdir / "sessions.json"
    logged_in_sessions(env, sessions)
    stack = Stack(env, workdir)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    for sig in previous:
        signal.signal(sig, interrupted)
    try:
        gunicorn = stack.start(
            "gunicorn",
            [
                str(VENV_BIN / "gunicorn"),
                "crm_site.wsgi",
                "-c",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{args.port}",
                "--workers",
                str(args.workers),
            ],
        )
        worker = stack.start(
            "worker",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "crm_site",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                "1",
                "--hostname",
                f"bench-load-{os.getpid()}@%h",
            ],
        )
        host = f"http://127.0.0.1:{args.port}"
        wait_healthy(stack, f"{host}/accounts/login/")
        print(
            f"gunicorn and the worker answer; {args.users} users for {args.duration} s"
            + ("" if redeem else " (no members: no redemptions)")
        )
        samples_path = workdir / "requests.jsonl"
        load_env = {
            **env,
            "BENCH_LOAD_LOG": str(samples_path),
            "BENCH_SESSIONS": str(sessions),
            "BENCH_THINK_MIN": str(args.think_min),
            "BENCH_THINK_MAX": str(args.think_max),
            "BENCH_REDEEM": "1" if redeem else "0",
        }
        pipeline = None
        if args.pipeline:
            pipeline = {}
            threading.Thread(
                target=pipeline_during, args=(env, args.duration / 5, pipeline), daemon=True
            ).start()
        stack.env = load_env
        locust = stack.start(
            "locust",
            [
                str(VENV_BIN / "locust"),
                "-f",
                str(BASE_DIR / "bench" / "locustfile.py"),
                "--headless",
                "--host",
                host,
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{args.duration}s",
                "--stop-timeout",
                "5",
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
        )
        sampler = CpuSampler(
            {"gunicorn": gunicorn.pid, "worker": worker.pid, "locust": locust.pid}, database
        )
        start = time.time()
        sampler.start()
        locust.wait(timeout=args.duration + 120)
        end = time.time()
        cpu, machine_busy = sampler.stop()
        if args.pipeline:
            waited = time.monotonic()
            while "ended" not in pipeline and "error" not in pipeline:
                if time.monotonic() - waited > 1800:
                    pipeline = {"error": "still running 30 minutes after the load"}
                    break
                time.sleep(1)
        report(args, read_samples(samples_path), (start, end), cpu, machine_busy, pipeline, figures)
    finally:
        stack.stop()
        sessions_delete(env, sessions)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print(f"stopped everything started; logs kept in {workdir} ({dt.datetime.now():%H:%M:%S})")


if __name__ == "__main__":
    main()
