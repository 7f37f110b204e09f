"""Restreamer benchmarks, each figure beside its peer from the same run (issue 4).

1. A 24 h media playlist (43,200 segments): cold (first request to a new process, files in the
   page cache) and warm. Targets: <= 300 ms cold, <= 50 ms warm.
2. Segment serving throughput with wrk, against streamvault and against nginx serving the same
   directory (one worker each, as streamvault is one process), for the bench's 0.8 MB segment
   and for a 1.5 MB one (Twitch source size). Target >= 0.7x nginx.
3. A 1 h cut: ``rough`` against ``cat`` of the same files (target >= 0.8x its throughput);
   ``fast`` and ``smart`` against ``rough`` (target <= 2x its time); a full re-encode for scale.

Needs ``wrk`` and ``nginx`` (Debian: ``apt-get install -y wrk nginx``) and ``curl``.

    .venv/bin/python bench/restreamer.py [--workdir DIR] [--full-minutes 10]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from streamvault.ffmpeg import ffmpeg_exe
from streamvault.store.naming import encode_hash, format_name
from streamvault.timeutil import format_iso, hour_name

DAY0 = datetime(2026, 11, 1, tzinfo=UTC)
SEGMENT = 2.0
UNIQUE = 1800  # an hour of distinct 2 s segments; the day is made of hard links to them
PER_DAY = 43_200


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        sys.exit(f"bench needs {tool}: install it (Debian: apt-get install -y wrk nginx curl)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def render(directory: str) -> list[str]:
    """UNIQUE two-second 640x360 H.264/AAC segments at ~3 Mb/s (a 720p-like bitrate) whose
    timestamps run on from one to the next, as one recording's do."""
    os.makedirs(directory, exist_ok=True)
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", str(UNIQUE * SEGMENT),
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "3M", "-g", "60",
            "-force_key_frames", "expr:gte(t,n_forced*2)", "-c:a", "aac", "-b:a", "96k",
            "-f", "segment", "-segment_time", "2", "-segment_format", "mpegts",
            "-reset_timestamps", "0", os.path.join(directory, "seg%04d.ts"),
        ],
        check=True,
    )  # fmt: skip
    return sorted(os.path.join(directory, name) for name in os.listdir(directory))


def source_segment(base: str) -> str:
    """One two-second 1080p segment at ~6 Mb/s, the size a Twitch source segment has, in
    BASE/bench-1080p/source (made once): segment throughput depends on segment size."""
    hour = hour_name(DAY0)
    directory = os.path.join(base, "bench-1080p", "source", hour)
    if not os.path.isdir(directory):
        scratch = os.path.join(base, "..", "render-1080p.ts")
        subprocess.run(
            [
                ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=60",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2",
                "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "6M", "-minrate", "6M",
                "-maxrate", "6M", "-bufsize", "1M", "-c:a", "aac", "-b:a", "160k",
                "-f", "mpegts", scratch,
            ],
            check=True,
        )  # fmt: skip
        with open(scratch, "rb") as file:
            digest = encode_hash(hashlib.sha256(file.read()).digest())
        os.makedirs(directory)
        os.rename(scratch, os.path.join(directory, format_name(DAY0, SEGMENT, "full", digest)))
    return f"/segments/bench-1080p/source/{hour}/{os.listdir(directory)[0]}"


def build_store(base: str, sources: list[str]) -> None:
    """A day of segments in BASE/bench/source: PER_DAY hard links to the rendered ones."""
    hashes = []
    for path in sources:
        with open(path, "rb") as file:
            hashes.append(encode_hash(hashlib.sha256(file.read()).digest()))
    for index in range(PER_DAY):
        start = DAY0 + timedelta(seconds=index * SEGMENT)
        directory = os.path.join(base, "bench", "source", hour_name(start))
        if index % 1800 == 0:
            os.makedirs(directory, exist_ok=True)
        which = index % len(sources)
        name = format_name(start, SEGMENT, "full", hashes[which])
        os.link(sources[which], os.path.join(directory, name))


def start_restreamer(base: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamvault", "restream", "--base-dir", base,
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING"],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "/files", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("restreamer did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def timed_get(url: str) -> tuple[float, bytes]:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body: bytes = response.read()
    return time.perf_counter() - began, body


def bench_playlist(base: str) -> tuple[float, float]:
    subprocess.run(["find", base], stdout=subprocess.DEVNULL, check=True)  # page cache
    day = f"start={format_iso(DAY0)}&end={format_iso(DAY0 + timedelta(days=1))}"
    path = f"/playlist/bench/source.m3u8?{day}"
    colds = []
    for _ in range(5):
        proc, url = start_restreamer(base)
        try:
            seconds, body = timed_get(url + path)
            assert body.count(b"#EXTINF") == PER_DAY, "the playlist must list the whole day"
            colds.append(seconds)
        finally:
            stop(proc)
    proc, url = start_restreamer(base)
    try:
        timed_get(url + path)
        warm = [timed_get(url + path)[0] for _ in range(20)]
    finally:
        stop(proc)
    return min(colds), statistics.median(warm)


def wrk(url: str, seconds: int) -> tuple[float, str]:
    output = subprocess.run(
        [need("wrk"), "-t", "2", "-c", "32", "-d", f"{seconds}s", url],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    rate = float(output.split("Requests/sec:")[1].split()[0])
    transfer = output.split("Transfer/sec:")[1].split()[0]
    return rate, transfer


NGINX_CONF = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    types {{ video/mp2t ts; }}
    server {{
        listen 127.0.0.1:{port};
        location /segments/ {{ alias {base}/; }}
    }}
}}
"""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Serving:
    """A server's wrk rounds: requests per second, and its CPU per request, per round."""

    rates: list[float]
    cpu_per_request: list[float]

    def wrk_round(self, url: str, pid: int, seconds: int) -> None:
        before = cpu_seconds(pid)
        rate, _ = wrk(url, seconds)
        self.rates.append(rate)
        self.cpu_per_request.append((cpu_seconds(pid) - before) / (rate * seconds))


def bench_throughput(base: str, path: str, seconds: int, rounds: int) -> tuple[Serving, Serving]:
    """Rounds alternate between the two servers, both running throughout: this machine's speed
    drifts by a third from minute to minute, so only rounds side by side compare."""
    ours, theirs = Serving([], []), Serving([], [])
    proc, url = start_restreamer(base)
    prefix, nginx, port = start_nginx(base)
    try:
        worker = int(subprocess.check_output(["pgrep", "-P", str(nginx.pid)]).split()[0])
        wrk(url + path, 2)  # warm both up
        wrk(f"http://127.0.0.1:{port}{path}", 2)
        for _ in range(rounds):
            ours.wrk_round(url + path, proc.pid, seconds)
            theirs.wrk_round(f"http://127.0.0.1:{port}{path}", worker, seconds)
    finally:
        stop(proc)
        stop_nginx(prefix, nginx)
    return ours, theirs


def start_nginx(base: str, prefix: str | None = None) -> tuple[str, subprocess.Popen[bytes], int]:
    """nginx serving ``base`` under /segments/, its files in ``prefix`` (default: a new temp
    dir); returns the prefix, the master process and the port once it accepts connections."""
    prefix = prefix or tempfile.mkdtemp(prefix="bench-nginx-")
    port = free_port()
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as file:
        file.write(NGINX_CONF.format(prefix=prefix, port=port, base=os.path.abspath(base)))
    nginx = subprocess.Popen([need("nginx"), "-p", prefix, "-c", conf, "-g", "daemon off;"])
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return prefix, nginx, port
        except OSError:
            time.sleep(0.05)
    nginx.kill()
    sys.exit("nginx did not start")


def stop_nginx(prefix: str, nginx: subprocess.Popen[bytes]) -> None:
    nginx.terminate()
    nginx.wait()
    shutil.rmtree(prefix, ignore_errors=True)


def curl_seconds(url: str) -> tuple[float, int]:
    began = time.perf_counter()
    result = subprocess.run(
        [need("curl"), "-sS", "-f", "-o", "/dev/null", "-w", "%{size_download}", url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return time.perf_counter() - began, int(result.stdout)


def cat_seconds(paths: list[str], piped: bool = False) -> tuple[float, int]:
    """``cat FILES > /dev/null``, or with ``piped`` ``cat FILES | cat > /dev/null`` (the bytes
    then cross into a second process, as they do to an HTTP client)."""
    began = time.perf_counter()
    with open(os.devnull, "wb") as null:
        if piped:
            first = subprocess.Popen(["cat", *paths], stdout=subprocess.PIPE)
            subprocess.run(["cat"], stdin=first.stdout, stdout=null, check=True)
            assert first.stdout is not None
            first.stdout.close()
            first.wait()
        else:
            subprocess.run(["cat", *paths], stdout=null, check=True)
    return time.perf_counter() - began, sum(os.path.getsize(path) for path in paths)


def nginx_one_file(paths: list[str]) -> tuple[float, int]:
    """nginx sending the same bytes as one file (sendfile) to curl: the HTTP ceiling here."""
    prefix = tempfile.mkdtemp(prefix="bench-nginx-")
    os.chmod(prefix, 0o755)  # nginx workers run as an unprivileged user
    root = os.path.join(prefix, "root")
    os.makedirs(root)
    with open(os.path.join(root, "hour.ts"), "wb") as out:
        for path in paths:
            with open(path, "rb") as file:
                shutil.copyfileobj(file, out, 1 << 20)
    prefix, nginx, port = start_nginx(root, prefix)
    try:
        url = f"http://127.0.0.1:{port}/segments/hour.ts"
        curl_seconds(url)  # page cache
        return min(curl_seconds(url) for _ in "123")
    finally:
        stop_nginx(prefix, nginx)


def bare_sendfile(paths: list[str]) -> tuple[float, int]:
    """The same files sent by a bare server: read the request, write a header, then blocking
    ``sendfile`` of each file, nothing else. What this machine's loopback TCP and curl allow."""
    total = sum(os.path.getsize(path) for path in paths)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            connection, _ = listener.accept()
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(4096)
                if request.startswith(b"QUIT"):
                    return
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n"
                connection.sendall(head.encode())
                for path in paths:
                    with open(path, "rb") as file:
                        size, offset = os.fstat(file.fileno()).st_size, 0
                        while offset < size:
                            offset += os.sendfile(connection.fileno(), file.fileno(), offset, size)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}/hour.ts"
        curl_seconds(url)
        return min(curl_seconds(url) for _ in "123")
    finally:
        with socket.create_connection(("127.0.0.1", port)) as quit:
            quit.sendall(b"QUIT\r\n\r\n")
        server.join(5)
        listener.close()


def bench_cuts(base: str, full_minutes: float) -> dict[str, tuple[float, int]]:
    # 01:00:00.5 to 01:59:59.3: inside one rendered hour, so its timestamps run on throughout
    start = DAY0 + timedelta(hours=1, seconds=0.5)
    end = DAY0 + timedelta(hours=1, minutes=59, seconds=59.3)
    hours = list(dict.fromkeys([hour_name(start), hour_name(end)]))
    paths = []
    for hour in hours:
        directory = os.path.join(base, "bench", "source", hour)
        for name in sorted(os.listdir(directory)):
            segment_start = datetime.strptime(hour + name[:12], "%Y-%m-%dT%H%M:%S.%f").replace(
                tzinfo=UTC
            )
            if segment_start + timedelta(seconds=SEGMENT) > start and segment_start < end:
                paths.append(os.path.join(directory, name))
    cat_seconds(paths)  # page cache
    results = {
        "cat": min(cat_seconds(paths) for _ in "123"),
        "cat|cat": min(cat_seconds(paths, piped=True) for _ in "123"),
    }
    results["nginx"] = nginx_one_file(paths)
    results["bare"] = bare_sendfile(paths)
    proc, url = start_restreamer(base)
    try:
        query = f"start={format_iso(start)}&end={format_iso(end)}"
        for type in ("rough", "fast", "smart"):  # best of three: the machine is shared
            runs = [curl_seconds(f"{url}/cut/bench/source.ts?{query}&type={type}") for _ in "123"]
            results[type] = min(runs)
        full_end = start + timedelta(minutes=full_minutes)
        results["mpegts"] = curl_seconds(
            f"{url}/cut/bench/source.ts?start={format_iso(start)}&end={format_iso(full_end)}&type=mpegts"
        )
    finally:
        stop(proc)
    return results


def report_playlist(base: str) -> None:
    cold, warm = bench_playlist(base)
    print(
        f"24 h playlist ({PER_DAY} segments): cold (best of 5 new processes) "
        f"{cold * 1000:.0f} ms (target <= 300, "
        f"{cold / 0.3:.2f}x of target), warm {warm * 1000:.1f} ms "
        f"(target <= 50, {warm / 0.05:.2f}x of target)"
    )


def report_throughput(base: str, seconds: int, rounds: int) -> None:
    hour = hour_name(DAY0)
    name = sorted(os.listdir(os.path.join(base, "bench", "source", hour)))[0]
    for path in (f"/segments/bench/source/{hour}/{name}", source_segment(base)):
        size = os.path.getsize(os.path.join(base, *path.split("/")[2:]))
        ours, nginx = bench_throughput(base, path, seconds, rounds)
        ratios = sorted(a / b for a, b in zip(ours.rates, nginx.rates, strict=True))
        print(
            f"segment throughput, {size / 1e6:.2f} MB segment (wrk -t2 -c32, {rounds} "
            f"alternating rounds of {seconds} s, medians): streamvault "
            f"{statistics.median(ours.rates):.0f} req/s, nginx "
            f"{statistics.median(nginx.rates):.0f} req/s: "
            f"{statistics.median(ratios):.2f}x nginx (target >= 0.7); "
            f"per round {ratios[0]:.2f}x to {ratios[-1]:.2f}x; server CPU per request: "
            f"streamvault {statistics.median(ours.cpu_per_request) * 1e6:.0f} us, "
            f"nginx {statistics.median(nginx.cpu_per_request) * 1e6:.0f} us"
        )


def report_cuts(base: str, full_minutes: float) -> None:
    cuts = bench_cuts(base, full_minutes)
    cat_s, cat_b = cuts["cat"]
    rough_s, rough_b = cuts["rough"]
    print(
        f"1 h cut: cat {cat_b / cat_s / 1e6:.0f} MB/s ({cat_s:.2f} s), rough "
        f"{rough_b / rough_s / 1e6:.0f} MB/s ({rough_s:.2f} s): "
        f"{(rough_b / rough_s) / (cat_b / cat_s):.2f}x cat throughput (target >= 0.8)"
    )
    rough_rate = rough_b / rough_s
    for key, label, beside_cat in (
        ("cat|cat", "cat | cat", False),
        ("nginx", "nginx sending the same bytes as one file", False),
        ("bare", "a bare blocking-sendfile server, no HTTP framework,", True),
    ):
        seconds, size = cuts[key]
        rate = size / seconds
        line = (
            f"1 h cut: {label} {rate / 1e6:.0f} MB/s ({seconds:.2f} s): rough is "
            f"{rough_rate / rate:.2f}x its throughput"
        )
        if beside_cat:  # the ceiling: how far any server gets over loopback here
            line += f", and it is {rate / (cat_b / cat_s):.2f}x cat"
        print(line)
    for type in ("fast", "smart"):
        seconds, size = cuts[type]
        print(
            f"1 h cut {type}: {seconds:.2f} s, {size / 1e6:.0f} MB: "
            f"{seconds / rough_s:.2f}x rough time (target <= 2)"
        )
    seconds, size = cuts["mpegts"]
    print(
        f"full re-encode (mpegts, {full_minutes:g} min): {seconds:.1f} s, "
        f"{seconds / (full_minutes * 60):.2f} s per second of video; "
        f"{seconds / rough_s * 60 / full_minutes:.0f}x rough time per hour"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", help="keep the bench store here (default: a temp dir)")
    parser.add_argument(
        "--full-minutes", type=float, default=10.0, help="length of the full re-encode"
    )
    parser.add_argument("--wrk-seconds", type=int, default=6)
    parser.add_argument("--wrk-rounds", type=int, default=5)
    parser.add_argument(
        "--parts", default="playlist,throughput,cuts", help="which figures to measure"
    )
    args = parser.parse_args()
    for tool in ("wrk", "nginx", "curl"):
        need(tool)
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-restreamer-")
    base = os.path.join(workdir, "store")
    if not os.path.isdir(base):
        print("rendering segments and building a day of store ...", flush=True)
        build_store(base, render(os.path.join(workdir, "render")))

    parts = set(args.parts.split(","))
    if "playlist" in parts:
        report_playlist(base)
    if "throughput" in parts:
        report_throughput(base, args.wrk_seconds, args.wrk_rounds)
    if "cuts" in parts:
        report_cuts(base, args.full_minutes)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
