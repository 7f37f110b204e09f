"""Downloader benchmark (issue 8): CPU per stream-hour against streamlink and a curl floor,
then a scale run (many channels at once: CPU %, peak RSS, missed segments).

    .venv/bin/python bench/downloader.py                 # 5 streams, 5 min, HTTP then HTTPS
    .venv/bin/python bench/downloader.py --minutes 2 --no-https --no-scale

The simulator runs in its own process (``streamvault sim``), real-time pace, 2 s segments of
about 1.5 MB (``--realistic-bitrate``). Every recorder records the same streams in the same
run: streamvault (one process for all streams), streamlink (one process per stream, as
``streamlink hls://MEDIA_PLAYLIST_URL best -o FILE``) and curl (one process per segment URL:
the floor). They take turns against the same sim, so that none is slowed by the others on
this 2-core machine (``--together`` runs them at once, in a third of the time). CPU is each
process's user + system time from ``wait4``. A last line prints what the store's own work
(SHA-256, write, fsync, rename of the same segments) costs by itself, for scale.

The "ended stream" line (issue 13): one important channel (retried every 5 s, the costliest
case) records a little, then its stream ends while usher keeps answering (the sim's ``ended``
fault: the media playlist frozen with ``#EXT-X-ENDLIST``); it prints the downloader's CPU and
the requests per minute the sim sees over ``--ended-minutes`` (targets: <= 1 % of one core,
<= 40 requests a minute; before issue 13 such a stream started a new worker every second).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import resource
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
STREAMLINK = str(ROOT / ".venv" / "bin" / "streamlink")
CURL = "/usr/bin/curl"

sys.path.insert(0, str(ROOT / "src"))
from streamvault.hls.parse import parse_master  # noqa: E402
from streamvault.sources.twitch import gql_body, gql_headers, parse_token, usher_url  # noqa: E402
from streamvault.sources.twitch_hls import parse_twitch_media  # noqa: E402
from streamvault.sources.variants import choose_variant  # noqa: E402


@dataclass
class Sim:
    process: subprocess.Popen[str]
    base_url: str
    ca_file: str | None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_sim(
    channels: list[str], qualities: str, tls: bool, time_scale: float, realistic: bool, cache: str
) -> Sim:
    command = [
        PYTHON,
        "-m",
        "streamvault",
        "sim",
        "--port",
        "0",
        "--channels",
        ",".join(channels),
        "--qualities",
        qualities,
        "--time-scale",
        str(time_scale),
        "--history",
        "2",
        "--cache-dir",
        cache,
        "--log-level",
        "WARNING",
    ]
    command += ["--realistic-bitrate"] if realistic else []
    command += ["--tls"] if tls else []
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    base_url, ca_file = "", None
    for line in process.stdout:
        if line.startswith("simulated Twitch at "):
            base_url = line.split()[-1]
        match = re.search(r"--ca-file (\S+)", line)
        if line.startswith("downloader flags:"):
            ca_file = match.group(1) if match else None
            break
    threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
    return Sim(process, base_url, ca_file)


def _opener(ca_file: str | None) -> urllib.request.OpenerDirector:
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))


def media_url(sim: Sim, channel: str) -> str:
    opener = _opener(sim.ca_file)
    request = urllib.request.Request(
        f"{sim.base_url}/gql",
        data=json.dumps(gql_body(channel)).encode(),
        headers=gql_headers(),
        method="POST",
    )
    token = parse_token(opener.open(request).read().decode())
    assert token is not None
    master_url = usher_url(sim.base_url, channel, token)
    master = parse_master(opener.open(master_url).read().decode(), master_url)
    variant = choose_variant(master, "source")
    assert variant is not None
    return variant.uri


def cpu_now(pid: int) -> float:
    """User + system CPU seconds a running process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    _, _, usage = os.wait4(pid, 0)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CurlFloor:
    """Polls each media playlist (not counted) and runs one curl per new segment (counted)."""

    urls: list[str]
    out: Path
    ca_file: str | None
    cpu: float = 0.0
    segments: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run_stream(self, index: int, url: str) -> None:
        opener, seen = _opener(self.ca_file), set()
        directory = self.out / f"s{index}"
        directory.mkdir(parents=True, exist_ok=True)
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                playlist = parse_twitch_media(opener.open(url, timeout=10).read().decode(), url)
            except OSError:
                time.sleep(1)
                continue
            for segment in playlist.segments:
                if segment.sequence in seen or segment.prefetch:
                    continue
                seen.add(segment.sequence)
                command = [CURL, "-s", "-o", str(directory / f"{segment.sequence}.ts")]
                command += ["--cacert", self.ca_file] if self.ca_file else []
                process = subprocess.Popen([*command, segment.uri])
                cpu = cpu_of(process.pid)
                with self.lock:
                    self.cpu += cpu
                    self.segments += 1
            self.stop.wait(max(0.0, 2.0 - (time.monotonic() - began)))

    def start(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self.run_stream, args=(i, u), daemon=True)
            for i, u in enumerate(self.urls)
        ]
        for thread in threads:
            thread.start()
        return threads


def count_files(path: Path, suffix: str = ".ts") -> int:
    return sum(1 for _, _, names in os.walk(path) for n in names if n.endswith(suffix))


@dataclass
class Recorder:
    """One recorder of the efficiency run: its processes, or the curl floor's counter."""

    name: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    floor: CurlFloor | None = None
    threads: list[threading.Thread] = field(default_factory=list)

    def cpu_now(self) -> float:
        if self.floor is not None:
            with self.floor.lock:
                return self.floor.cpu
        return sum(cpu_now(p.pid) for p in self.processes)

    def stop(self) -> float:
        """Stop it; its CPU seconds over the whole run."""
        if self.floor is not None:
            self.floor.stop.set()
            for thread in self.threads:
                thread.join(15)
            return self.floor.cpu
        for process in self.processes:
            process.send_signal(signal.SIGTERM if self.name == "streamvault" else signal.SIGINT)
        return sum(cpu_of(p.pid) for p in self.processes)


def start_recorder(
    name: str, sim: Sim, channels: list[str], urls: list[str], work: Path
) -> Recorder:
    env = dict(os.environ)
    if sim.ca_file:
        env["REQUESTS_CA_BUNDLE"] = sim.ca_file
        env["SSL_CERT_FILE"] = sim.ca_file
    if name == "streamvault":
        command = [PYTHON, "-m", "streamvault", "download", "--base-dir", str(work / "sv")]
        command += ["--twitch-gql-url", sim.base_url, "--twitch-usher-url", sim.base_url]
        command += ["--log-level", "WARNING", *channels]
        command += ["--ca-file", sim.ca_file] if sim.ca_file else []
        return Recorder(name, [subprocess.Popen(command, cwd=ROOT)])
    if name == "streamlink":
        (work / "sl").mkdir(parents=True)
        outputs = [str(work / "sl" / f"{i}.ts") for i in range(len(urls))]
        return Recorder(
            name,
            [
                subprocess.Popen(
                    [STREAMLINK, "--loglevel", "warning", f"hls://{url}", "best", "-o", output],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for url, output in zip(urls, outputs, strict=True)
            ],
        )
    floor = CurlFloor(urls, work / "curl", sim.ca_file)
    return Recorder(name, floor=floor, threads=floor.start())


RECORDERS = ("streamvault", "streamlink", "curl")


def efficiency_run(args: argparse.Namespace, tls: bool, work: Path) -> dict[str, Any]:
    """Each recorder records the same sim streams; by default one after another, so that
    none pays for the others' cache and core contention (``--together`` runs them at once)."""
    channels = [f"bench{i}" for i in range(args.streams)]
    sim = start_sim(channels, "source", tls, 1.0, True, str(work / "cache"))
    seconds = args.minutes * 60
    warmup = min(60.0, seconds / 3)
    result: dict[str, Any] = {"warmup": warmup}
    try:
        urls = [media_url(sim, c) for c in channels]
        groups = [list(RECORDERS)] if args.together else [[name] for name in RECORDERS]
        for group in groups:
            recorders = [start_recorder(n, sim, channels, urls, work) for n in group]
            began = time.monotonic()
            # CPU sampled every `warmup` seconds: the first step is the warm-up, and the rest
            # show whether the cost drifts as the run goes on.
            samples = [(0.0, [r.cpu_now() for r in recorders])]
            while (elapsed := time.monotonic() - began) < seconds - 0.5:
                time.sleep(min(warmup, seconds - elapsed))
                samples.append((time.monotonic() - began, [r.cpu_now() for r in recorders]))
            hours = (time.monotonic() - began) / 3600 * args.streams
            for index, recorder in enumerate(recorders):
                result[recorder.name] = recorder.stop() / hours
                steps = [
                    (cpu[index] - before[index]) / ((at - then) / 3600 * args.streams)
                    for (then, before), (at, cpu) in itertools.pairwise(samples)
                ]
                result[f"steady_{recorder.name}"] = (
                    samples[-1][1][index] - samples[1][1][index]
                ) / ((samples[-1][0] - samples[1][0]) / 3600 * args.streams)
                result[f"steps_{recorder.name}"] = steps
        sv_dir = work / "sv"
        result["segments_streamvault"] = count_files(sv_dir)
        result["segments_curl"] = count_files(work / "curl")
        result["bytes_streamlink"] = sum(f.stat().st_size for f in (work / "sl").iterdir())
        result["bytes_streamvault"] = sum(
            os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(sv_dir) for n in ns
        )
        result["store_floor"] = store_floor(sv_dir, work / "floor")
        result["page_new"], result["page_recycled"] = page_cache_writes(work / "pages")
        return result
    finally:
        sim.stop()


def store_floor(recorded: Path, scratch: Path) -> float:
    """CPU s per stream-hour of the store's own work alone: SHA-256, write, fsync, rename.

    The recorded segments are written again through the same store code, in 256 KiB chunks as
    they arrive from a socket, so this is what any recorder that keeps our on-disk guarantees
    (hash in the name, atomic fsynced files) pays before a single network byte is handled.
    """
    from streamvault.store.disk import SegmentStore

    sizes = [
        os.path.getsize(os.path.join(d, n))
        for d, _, ns in os.walk(recorded)
        for n in ns
        if n.endswith(".ts")
    ][:300]
    if not sizes:
        return 0.0
    payload = os.urandom(max(sizes))
    chunk = 256 * 1024
    store = SegmentStore(str(scratch))
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def write(index: int, size: int) -> None:
        when = start + timedelta(seconds=2 * index)
        temp = store.open_segment("floor", "source", when, 2.0)
        temp.write_chunks([payload[i : min(i + chunk, size)] for i in range(0, size, chunk)])
        store.commit_segment(temp, "floor", "source", when, 2.0, "full")

    os.sync()  # the recorders' dirty pages are not this measurement's to write back
    best = float("inf")
    for _ in range(3):  # best of three passes: the first pays for a cold page cache and faults
        before = resource.getrusage(resource.RUSAGE_SELF)
        for index, size in enumerate(sizes):
            write(index, size)
        after = resource.getrusage(resource.RUSAGE_SELF)
        user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
        best = min(best, user + system)
        shutil.rmtree(scratch, ignore_errors=True)
    return best / len(sizes) * 1800  # 2 s segments: 1,800 per stream-hour


def page_cache_writes(scratch: Path, count: int = 500) -> tuple[float, float]:
    """CPU ms to write and fsync one 1.5 MB file into new page-cache pages, and into recycled
    ones (the mean of the last 200 of ``count`` writes).

    Every recorder writes each recorded byte once, into pages it never had. Where the machine
    reclaims memory eagerly (this VM: DAMON pageout and virtio free page reporting), new pages
    cost a fault in the host once a few hundred MB have been written, and the same write costs
    several times more than into pages just freed. streamvault and streamlink pay it alike.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    payload = os.urandom(1_500_000)
    os.sync()

    def write_all(keep: bool) -> float:
        spent = []
        for index in range(count):
            path = scratch / f"{index}.ts"
            before = resource.getrusage(resource.RUSAGE_SELF)
            with open(path, "wb", buffering=0) as file:
                file.write(payload)
                os.fsync(file.fileno())
            after = resource.getrusage(resource.RUSAGE_SELF)
            spent.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if not keep:
                path.unlink()  # freed pages: the next file gets them back
        return statistics.mean(spent[-200:]) * 1000

    new = write_all(keep=True)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    recycled = write_all(keep=False)
    shutil.rmtree(scratch, ignore_errors=True)
    return new, recycled


def rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def scale_run(args: argparse.Namespace, work: Path) -> dict[str, float]:
    channels = [f"scale{i}" for i in range(args.scale_channels)]
    sim = start_sim(
        channels, "source,480p", False, args.scale_time_scale, False, str(work / "cache")
    )
    try:
        base = work / "scale"
        command = [
            PYTHON,
            "-m",
            "streamvault",
            "download",
            "--base-dir",
            str(base),
            "--qualities",
            "source,480p",
            "--twitch-gql-url",
            sim.base_url,
            "--twitch-usher-url",
            sim.base_url,
            "--log-level",
            "WARNING",
            *channels,
        ]
        process = subprocess.Popen(command, cwd=ROOT)
        began = time.monotonic()
        peak = 0
        while time.monotonic() - began < args.scale_minutes * 60:
            time.sleep(1)
            peak = max(peak, rss_of(process.pid))
        elapsed = time.monotonic() - began
        peak = max(peak, rss_of(process.pid))
        process.send_signal(signal.SIGTERM)
        cpu = cpu_of(process.pid)
        missed, stored = 0, 0
        for channel in channels:
            for quality in ("source", "480p"):
                starts = sorted(_starts(base / channel / quality))
                stored += len(starts)
                if starts:
                    span = (starts[-1] - starts[0]) / 2.0 + 1
                    missed += round(span) - len(starts)
                else:
                    missed += 1
        return {
            "cpu_percent": 100 * cpu / elapsed,
            "peak_rss_mb": peak / 2**20,
            "missed": missed,
            "stored": stored,
            "streams": len(channels) * 2,
        }
    finally:
        sim.stop()


def _control(sim: Sim, path: str, body: Any | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{sim.base_url}{path}", data=data, method="POST" if data else "GET"
    )
    return json.loads(_opener(sim.ca_file).open(request).read().decode())


def ended_run(args: argparse.Namespace, work: Path) -> dict[str, float]:
    """CPU and requests a minute of a downloader whose stream ended while usher answers."""
    sim = start_sim(["ended0"], "source", False, 1.0, False, str(work / "cache"))
    try:
        command = [PYTHON, "-m", "streamvault", "download", "--base-dir", str(work / "ended")]
        command += ["--twitch-gql-url", sim.base_url, "--twitch-usher-url", sim.base_url]
        command += ["--log-level", "WARNING", "ended0!"]
        process = subprocess.Popen(command, cwd=ROOT)
        time.sleep(8)  # it records a few segments
        _control(sim, "/control/faults", {"kind": "ended", "channel": "ended0"})
        time.sleep(6)  # the working worker sees #EXT-X-ENDLIST and ends
        before, cpu_before, began = (
            _control(sim, "/control/counters"),
            cpu_now(process.pid),
            time.monotonic(),
        )
        time.sleep(args.ended_minutes * 60)
        after, cpu_after = _control(sim, "/control/counters"), cpu_now(process.pid)
        elapsed = time.monotonic() - began
        process.send_signal(signal.SIGTERM)
        cpu_of(process.pid)
        requests = sum(
            after["requests"][k] - before["requests"][k]
            for k in ("gql", "usher", "playlist", "segment")
        )
        return {
            "cpu_percent": 100 * (cpu_after - cpu_before) / elapsed,
            "per_minute": requests / (elapsed / 60),
            "usher_per_minute": (after["requests"]["usher"] - before["requests"]["usher"])
            / (elapsed / 60),
            "seconds": elapsed,
        }
    finally:
        sim.stop()


def _starts(directory: Path) -> list[float]:
    from streamvault.store.naming import parse_name

    starts = []
    for hour in directory.iterdir() if directory.exists() else []:
        for name in os.listdir(hour):
            if name.endswith(".ts") and "-temp-" not in name:
                starts.append(parse_name("c", "q", hour.name, name).start.timestamp())
    return starts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--streams", type=int, default=5)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-https", action="store_true")
    parser.add_argument("--no-scale", action="store_true")
    parser.add_argument("--no-ended", action="store_true", help="skip the ended-stream line")
    parser.add_argument("--ended-minutes", type=float, default=2.0)
    parser.add_argument(
        "--together",
        action="store_true",
        help="run the three recorders at once (faster, but each is slowed by the others)",
    )
    parser.add_argument("--scale-channels", type=int, default=50)
    parser.add_argument("--scale-minutes", type=float, default=3.0)
    parser.add_argument("--scale-time-scale", type=float, default=1.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="streamvault-bench-"))
    try:
        for tls, skip in ((False, args.no_http), (True, args.no_https)):
            if skip:
                continue
            run_dir = work / ("https" if tls else "http")
            result = efficiency_run(args, tls, run_dir)
            label = "HTTPS" if tls else "HTTP"
            print(
                f"\n== efficiency, {label}: {args.streams} streams x {args.minutes} min, "
                f"2 s segments of ~1.5 MB, real time"
            )
            for prefix, title in (
                ("", "whole run, start-up included"),
                ("steady_", f"after the first {result['warmup']:.0f} s"),
            ):
                print(f"  {title}:")
                for name in ("streamvault", "streamlink", "curl"):
                    print(f"    {name:12s} {result[prefix + name]:8.1f} CPU s per stream-hour")
                sv = result[prefix + "streamvault"]
                ratio = sv / result[prefix + "streamlink"]
                print(f"    streamvault / streamlink = {ratio:.3f}  (target <= 0.25)")
                floor = sv / result[prefix + "curl"]
                print(f"    streamvault / curl       = {floor:.3f}  (target <= 2)")
            print(f"  CPU s per stream-hour in each {result['warmup']:.0f} s of the run:")
            for name in RECORDERS:
                steps = " ".join(f"{step:5.1f}" for step in result[f"steps_{name}"])
                print(f"    {name:12s} {steps}")
            store = result["store_floor"]
            print(
                f"  the store's own work alone (SHA-256, write, fsync, rename): {store:.1f} CPU s "
                f"per stream-hour = {store / result['steady_streamlink']:.3f} x streamlink (steady)"
            )
            print(
                f"  writing and fsyncing 1.5 MB into new page-cache pages: "
                f"{result['page_new']:.2f} CPU ms; "
                f"into just-freed ones: {result['page_recycled']:.2f} CPU ms "
                f"(every recorder writes into new pages: "
                f"{result['page_new'] * 1.8:.1f} CPU s per stream-hour)"
            )
            print(
                f"  segments: streamvault {result['segments_streamvault']:.0f}, "
                f"curl {result['segments_curl']:.0f}; bytes: streamvault "
                f"{result['bytes_streamvault'] / 1e6:.0f} MB, streamlink "
                f"{result['bytes_streamlink'] / 1e6:.0f} MB",
                flush=True,
            )
            shutil.rmtree(run_dir, ignore_errors=True)
        if not args.no_ended:
            ended = ended_run(args, work)
            print(
                f"\n== ended stream (master answers, media playlist ended), important channel, "
                f"{ended['seconds'] / 60:.1f} min"
            )
            print(
                f"  CPU {ended['cpu_percent']:.2f} % of one core (target <= 1, "
                f"{ended['cpu_percent'] / 1.0:.2f} x target); {ended['per_minute']:.1f} requests "
                f"a minute (target <= 40, {ended['per_minute'] / 40:.2f} x target), of which "
                f"{ended['usher_per_minute']:.1f} usher",
                flush=True,
            )
        if not args.no_scale:
            result = scale_run(args, work)
            print(
                f"\n== scale: {args.scale_channels} channels x 2 qualities, "
                f"{args.scale_minutes} min, sim time scale {args.scale_time_scale}"
            )
            print(
                f"  CPU {result['cpu_percent']:.1f} % of one core, peak RSS "
                f"{result['peak_rss_mb']:.0f} MB (target <= 150), missed "
                f"{result['missed']:.0f} of {result['stored'] + result['missed']:.0f} segments "
                "(target 0)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
