"""POST /uapi/faxes/@me/0003*210 with a one-page PDF under concurrent load on loopback.

    python bench/api.py [--requests 10000] [--clients 8] [--client httpx|wrk] [--pdf FILE] [--converters N]

``faxpipe serve --no-worker`` runs in a subprocess (uvicorn, SQLite in a temporary data directory,
nothing sent; conversions in its worker processes, one per core, or ``--converters`` of them, 0 for
threads in the server process); an organization, a user, the extension 0003*210 and a token are
made with the admin library. Load: ``--clients`` concurrent clients, each with its own keep-alive
connection, POSTing the specification's request with a one-page PDF (fixtures/pages/letter.pdf) as
``files`` — with httpx (threads in this process, exactly ``--requests`` requests) or with Debian's
wrk (``--client wrk``: 2 threads, ``--clients`` connections, run long enough for ``--requests``).
Reported: p50 / p90 / p99 latency, requests per second, errors (anything but 200), the server's RSS
(its own and its conversion processes', added up) after a warm-up and after every tenth of the run
(flat?), its CPU time per request (likewise added up), and what one request costs apart from HTTP:
the PDF's conversion to TIFF-F (pdfium render, bilevel, G4, write) measured in-process on one core,
and the same POST without a document (204: HTTP, auth, multipart, no conversion) under the same
load — so it is plain what dominates the latency.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faxpipe.cli.demoapi import free_port, make_accounts, start_server, stop_server  # noqa: E402

PATH = "/uapi/faxes/@me/0003*210"
REQUEST = json.dumps({"recipients": ["7778888"]}).encode()
BOUNDARY = "faxpipe-bench-3253436366"


def body(pdf: bytes | None) -> bytes:
    parts = []
    if pdf is not None:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="letter.pdf"\r\n'
                     f"Content-Type: application/pdf\r\n\r\n".encode() + pdf + b"\r\n")
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="request"\r\n\r\n'.encode()
                 + REQUEST + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def family(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's conversion processes)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, ()))
    return found


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants."""
    total = 0
    for p in family(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except OSError:
            pass
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and its descendants (all their threads)."""
    total = 0
    for p in family(pid):
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def httpx_load(base: str, headers: dict, payload: bytes, requests: int, clients: int, pid: int,
               samples: list) -> tuple[list[float], dict, float]:
    import httpx

    latencies: list[float] = []
    errors: dict = {}
    lock = threading.Lock()
    counter = iter(range(requests))
    step = max(1, requests // 10)

    def client():
        with httpx.Client(base_url=base, timeout=60, headers=headers) as c:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t = time.perf_counter()
                try:
                    status = c.post(PATH, content=payload).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                dt = time.perf_counter() - t
                with lock:
                    latencies.append(dt)
                    if status not in (200, 204):
                        errors[status] = errors.get(status, 0) + 1
                    if len(latencies) % step == 0:
                        samples.append((len(latencies), rss_kib(pid)))

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - start


WRK_LUA = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer %s"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=%s"
local f = io.open("%s", "rb")
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    summary.duration, latency.max))
end
"""


def wrk_load(base: str, token: str, payload: bytes, requests: int, clients: int, pid: int, samples: list,
             work: Path, rps_guess: float) -> dict:
    body_file = work / "body.bin"
    body_file.write_bytes(payload)
    script = work / "post.lua"
    script.write_text(WRK_LUA % (token, BOUNDARY, body_file))
    seconds = max(5, int(requests / max(rps_guess, 1) * 1.05) + 1)
    proc = subprocess.Popen(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "60s", "-s", str(script),
                             f"{base}{PATH}"], stdout=subprocess.PIPE, text=True)
    start = time.monotonic()
    while proc.poll() is None:
        time.sleep(seconds / 10)
        samples.append((f"{time.monotonic() - start:.0f} s", rss_kib(pid)))
    out = proc.stdout.read()
    m = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if not m:
        raise SystemExit(f"wrk said:\n{out}")
    n, sock_err, status_err, p50, p90, p99, duration_us, worst = map(int, m.groups())
    return {"requests": n, "errors": sock_err + status_err, "p50": p50 / 1e6, "p90": p90 / 1e6, "p99": p99 / 1e6,
            "seconds": duration_us / 1e6, "max": worst / 1e6}


def conversion_ms(pdf: bytes, work: Path, runs: int = 30) -> dict:
    """One request's conversion alone, in this process on one core (as the server does it)."""
    from faxpipe.api import fields
    from faxpipe.api.service import convert_to_tiff
    from faxpipe.normalize import convert

    request = fields.parse(REQUEST, 5, fields.RetryPolicy())
    times, render = [], []
    for i in range(runs):
        t = time.perf_counter()
        convert_to_tiff([("letter.pdf", pdf)], request, "0003*210", str(work / f"c{i % 2}.tif"), 20 << 20)
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        convert([("letter.pdf", pdf)], "fine")
        render.append(time.perf_counter() - t)
    return {"whole": statistics.median(times) * 1000, "convert": statistics.median(render) * 1000}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--client", choices=["httpx", "wrk"], default="httpx")
    p.add_argument("--pdf", default=str(ROOT / "fixtures" / "pages" / "letter.pdf"))
    p.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    p.add_argument("--converters", type=int, metavar="N",
                   help="faxpipe serve --converters N (default: its own, one process per core)")
    args = p.parse_args()
    if args.client == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package wrk)")
    import httpx

    pdf = Path(args.pdf).read_bytes()
    work = Path(tempfile.mkdtemp(prefix="faxpipe-bench-api-"))
    data = work / "data"
    data.mkdir()
    token = make_accounts(data)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "serve.log"
    extra = ["--no-worker"] + ([f"--converters={args.converters}"] if args.converters is not None else [])
    proc = start_server(data, port, log, extra=extra)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    payload, empty = body(pdf), body(None)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/uapi/openapi.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        print(f"faxpipe serve {' '.join(extra)} on {base} (pid {proc.pid}), {os.cpu_count()} cores; "
              f"{args.clients} concurrent clients ({args.client}); one-page PDF {Path(args.pdf).name} "
              f"({len(pdf):,} bytes, body {len(payload):,} bytes)")
        warm, _, warm_s = httpx_load(base, headers, payload, 200, args.clients, proc.pid, [])
        rss_before = rss_kib(proc.pid)
        print(f"warm-up: 200 requests, {200 / warm_s:.0f} req/s; server RSS (with its conversion processes) {rss_before / 1024:.1f} MiB")
        samples: list = []
        cpu0 = cpu_seconds(proc.pid)
        if args.client == "httpx":
            lat, errors, seconds = httpx_load(base, headers, payload, args.requests, args.clients, proc.pid, samples)
            n, nerr = len(lat), sum(errors.values())
            p50, p90, p99, worst = pct(lat, .50), pct(lat, .90), pct(lat, .99), max(lat)
        else:
            r = wrk_load(base, token, payload, args.requests, args.clients, proc.pid, samples, work, 200 / warm_s)
            n, nerr, seconds = r["requests"], r["errors"], r["seconds"]
            p50, p90, p99, worst = r["p50"], r["p90"], r["p99"], r["max"]
            errors = {"non-200 or socket": nerr}
        rss_after = rss_kib(proc.pid)
        server_cpu = (cpu_seconds(proc.pid) - cpu0) / max(n, 1) * 1000
        print(f"POST one-page PDF: {n:,} requests in {seconds:.1f} s = {n / seconds:.1f} req/s; latency p50 "
              f"{p50 * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.0f} ms; "
              f"errors {nerr}" + (f" {errors}" if nerr else "") + f"; server CPU {server_cpu:.1f} ms per request")
        print(f"server RSS: {rss_before / 1024:.1f} MiB after warm-up -> {rss_after / 1024:.1f} MiB after "
              f"{n:,} requests ({(rss_after - rss_before) / 1024:+.1f} MiB); samples: "
              + ", ".join(f"{k}: {v / 1024:.1f}" for k, v in samples))
        cpu0 = cpu_seconds(proc.pid)
        lat0, err0, s0 = httpx_load(base, headers, empty, 2000, args.clients, proc.pid, [])
        cpu_empty = (cpu_seconds(proc.pid) - cpu0) / len(lat0) * 1000
        print(f"same POST without a document (204, no conversion; httpx): {len(lat0) / s0:.0f} req/s, p50 "
              f"{pct(lat0, .5) * 1000:.1f} ms, p99 {pct(lat0, .99) * 1000:.1f} ms, errors {sum(err0.values())}; "
              f"server CPU {cpu_empty:.1f} ms per request")
    finally:
        stop_server(proc)
    conv = conversion_ms(pdf, work)
    print(f"conversion of the PDF alone, one core: {conv['whole']:.1f} ms to TIFF-F (of which render + "
          f"bilevel {conv['convert']:.1f} ms); 2 cores can convert at most {2000 / conv['whole']:.0f} per second")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if nerr else 0


if __name__ == "__main__":
    sys.exit(main())
