"""HTTP benchmark (issue 11): the production server (``geo-app serve``: gunicorn) beside the development
server (``geo-app serve --dev``: Werkzeug) on the demo set. Not a test: it prints figures.

Builds a temporary SQLite database with the real boundaries (GEO_APP_BOUNDARY_SOURCE) and the demo set
(``geo-app demo load``), a viewer and a read token (``geo-app tokens create``; maps need a login or a
token), then starts each server in turn on a free port and measures, with ``wrk`` when it is installed
(``apt-get install -y wrk``) and a Python load generator (threads, keep-alive ``http.client``) otherwise:

* ``/map`` — the overview, cached (rendered once before measuring);
* ``/map`` with ``Accept-Encoding: gzip`` — what a browser asks for;
* ``/map`` with a matching ``If-None-Match`` — a browser revalidating: 304, no body;
* ``/api/coverage`` — the coverage JSON, cached;
* ``/healthz``.

Prints requests per second side by side and the ratio, and whether the budget holds: the cached
overview at least 1,000 req/s and at least 3× the development server on 2 cores.

    GEO_APP_BOUNDARY_SOURCE=../shared/data/wilayah_boundaries python scripts/bench_http.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

GEO_APP = str(Path(sys.executable).with_name("geo-app"))
BUDGET_RPS = 1000
BUDGET_RATIO = 3.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([GEO_APP, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"geo-app {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _request(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        con.request("GET", path, headers=headers)
        resp = con.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        con.close()


class Server:
    """``geo-app serve [--dev]`` in its own process group, stopped on exit."""

    def __init__(self, env: dict[str, str], dev: bool, log: Path, workers: int | None) -> None:
        self.port = _free_port()
        args = [GEO_APP, "serve", "--port", str(self.port)]
        if dev:
            args.append("--dev")
        elif workers:
            args += ["--workers", str(workers)]
        self.log = log.open("w")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, headers: dict[str, str]) -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited {self.proc.returncode}; see {self.log.name}")
            try:
                if _request(self.port, "/healthz", headers)[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"server did not answer; see {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every process in the process group ``pgid`` (server and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ..., utime (12), stime (13)
            total += int(fields[11]) + int(fields[12])
    return total / tick


def run_wrk(url: str, headers: dict[str, str], seconds: int, connections: int, threads: int) -> tuple[float, int]:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk: {errors.group(1)} error responses for {url}:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    return float(rps.group(1)) if rps else 0.0, int(done.group(1)) if done else 0


def run_python(port: int, path: str, headers: dict[str, str], seconds: int, connections: int) -> tuple[float, int]:
    """Keep-alive connections, one thread each, for ``seconds``; requests per second and requests."""
    stop = time.monotonic() + seconds
    counts = [0] * connections
    failures: list[str] = []

    def worker(i: int) -> None:
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while time.monotonic() < stop:
                con.request("GET", path, headers=headers)
                resp = con.getresponse()
                resp.read()
                if resp.status >= 400:
                    failures.append(f"{resp.status} for {path}")
                    return
                counts[i] += 1
                if resp.getheader("Connection", "").lower() == "close":
                    con.close()
                    con = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        finally:
            con.close()

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if failures:
        raise SystemExit(failures[0])
    return sum(counts) / (time.monotonic() - started), sum(counts)


def measure(
    server: Server, cases: list[tuple[str, str, dict[str, str]]], args, use_wrk: bool
) -> dict[str, tuple[float, float]]:
    """Requests per second and the server's CPU milliseconds per request, for each case."""
    out = {}
    for label, path, headers in cases:
        # warm: the page, the coverage and the compressed copy are built before measuring
        status, got, _body = _request(server.port, path, headers)
        if status >= 400:
            raise SystemExit(f"{path}: {status}")
        cpu = group_cpu_seconds(server.proc.pid)
        if use_wrk:
            rps, done = run_wrk(f"http://127.0.0.1:{server.port}{path}", headers, args.seconds, args.connections, 2)
        else:
            rps, done = run_python(server.port, path, headers, args.seconds, args.connections)
        cpu_ms = (group_cpu_seconds(server.proc.pid) - cpu) * 1000 / max(done, 1)
        out[label] = (rps, cpu_ms)
        print(f"  {label:<28} {rps:10,.0f} req/s {cpu_ms:8.2f} ms CPU/request", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each measurement")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (wrk -c)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: GEO_APP_WORKERS)")
    parser.add_argument("--python-client", action="store_true", help="the Python load generator even if wrk is there")
    args = parser.parse_args()
    source = os.environ.get("GEO_APP_BOUNDARY_SOURCE")
    if not source:
        print("set GEO_APP_BOUNDARY_SOURCE (e.g. ../shared/data/wilayah_boundaries)", file=sys.stderr)
        return 2
    use_wrk = shutil.which("wrk") is not None and not args.python_client

    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "GEO_APP_DATABASE_URL": f"sqlite:///{root / 'bench.sqlite'}",
            "GEO_APP_SHAPEFILE_DIR": str(root / "shapefiles"),
            "GEO_APP_BOUNDARY_SOURCE": source,
            "GEO_APP_SECRET_KEY": "bench-http",
            "GEO_APP_DEMO_ON_EMPTY": "0",
            "GEO_APP_ALLOW_ANONYMOUS_VIEW": "0",
        }
        env.pop("GEO_APP_WORKER_PID_HEADER", None)
        _cli(env, "boundaries", "import")
        _cli(env, "demo", "load")
        _cli(env, "users", "create", "bench", "--role", "viewer", "--password", "bench-password-123")
        out = _cli(env, "tokens", "create", "bench", "--user", "bench", "--role", "viewer")
        token = out.strip().rsplit(": ", 1)[-1]
        auth = {"Authorization": f"Bearer {token}"}

        results: dict[str, dict[str, float]] = {}
        for name, dev in (("gunicorn", False), ("dev (Werkzeug)", True)):
            server = Server(env, dev, root / f"{'dev' if dev else 'prod'}.log", args.workers)
            try:
                server.wait_ready(auth)
                status, headers, body = _request(server.port, "/map", auth)
                if status != 200:
                    raise SystemExit(f"/map: {status}")
                etag = headers["etag"]
                gz = _request(server.port, "/map", {**auth, "Accept-Encoding": "gzip"})[2]
                print(
                    f"{name}: Server: {headers.get('server')}; /map {len(body):,} bytes, gzip {len(gz):,} bytes",
                    flush=True,
                )
                cases = [
                    ("/map (cached)", "/map", auth),
                    ("/map gzip", "/map", {**auth, "Accept-Encoding": "gzip"}),
                    ("/map 304 (If-None-Match)", "/map", {**auth, "If-None-Match": etag}),
                    ("/api/coverage", "/api/coverage", auth),
                    ("/healthz", "/healthz", {}),
                ]
                results[name] = measure(server, cases, args, use_wrk)
            finally:
                server.stop()

    prod, dev = results["gunicorn"], results["dev (Werkzeug)"]
    cores = os.cpu_count() or 1
    client = f"wrk -t2 -c{args.connections}" if use_wrk else f"Python client, {args.connections} connections"
    print(f"\n{client}, {args.seconds} s each, {cores} cores, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'request':<28} {'gunicorn':>10} {'dev server':>11} {'ratio':>6} {'CPU ms/req':>11} {'(dev)':>7}")
    for label in prod:
        (p_rps, p_cpu), (d_rps, d_cpu) = prod[label], dev[label]
        ratio = p_rps / d_rps if d_rps else float("inf")
        print(f"{label:<28} {p_rps:>10,.0f} {d_rps:>11,.0f} {ratio:>5.1f}× {p_cpu:>11.2f} {d_cpu:>7.2f}")
    overview, ratio = prod["/map (cached)"][0], prod["/map (cached)"][0] / max(dev["/map (cached)"][0], 1e-9)
    met = overview >= BUDGET_RPS and ratio >= BUDGET_RATIO
    print(
        f"budget: cached overview >= {BUDGET_RPS:,} req/s and >= {BUDGET_RATIO:g}× the dev server: "
        f"{overview:,.0f} req/s, {ratio:.1f}× — {'met' if met else 'NOT met'}"
    )
    # on a machine shared with other work the rates say little; the server's CPU per request does not
    # depend on the others: what the cores could serve if they did nothing else. The development
    # server is one process, so one core at most (the GIL); gunicorn's workers use every core.
    prod_ceiling = cores * 1000 / max(prod["/map (cached)"][1], 1e-9)
    dev_ceiling = 1000 / max(dev["/map (cached)"][1], 1e-9)
    met = prod_ceiling >= BUDGET_RPS and prod_ceiling / dev_ceiling >= BUDGET_RATIO
    print(
        f"by CPU time (server processes only, {cores} idle cores): cached overview gunicorn {prod_ceiling:,.0f} req/s, "
        f"dev server {dev_ceiling:,.0f} req/s (one core), {prod_ceiling / dev_ceiling:.1f}× — {'met' if met else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
