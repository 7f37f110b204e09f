"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` in a temp directory,
``postgres`` on a free port of 127.0.0.1, trust authentication, no fsync.

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user
(made by Debian's package) and its programs run through ``runuser``. Anything that stops the
server from starting raises :class:`PostgresUnavailable`: callers fail, they never skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

START_TIMEOUT = 60.0


class PostgresUnavailable(RuntimeError):
    pass


def _program(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise PostgresUnavailable(
            f"{name} not found: install Debian's postgresql package (.ci/run does)"
        )
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="streamvault-pg-")
        self.data = os.path.join(self.directory, "data")
        self.log_path = os.path.join(self.directory, "postgres.log")
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no postgres user") from None
            os.chown(self.directory, self._user.pw_uid, self._user.pw_gid)

    def _owner(self) -> dict[str, int]:
        """subprocess arguments that run a program as the cluster's owner."""
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PostgresServer:
        initdb = [
            _program("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync",
        ]  # fmt: skip
        result = subprocess.run(
            initdb, capture_output=True, timeout=120, cwd=self.directory, **self._owner()
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {result.stderr.decode(errors='replace')}")
        for _attempt in range(5):  # a free port can be taken between probing and binding
            self.port = _free_port()
            if self._launch():
                return self
        raise PostgresUnavailable(f"postgres did not start; see {self.log_path}")

    def _launch(self) -> bool:
        command = [
            _program("postgres"), "-D", self.data, "-p", str(self.port), "-k", self.directory,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200",
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory, **self._owner()
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            ready = subprocess.run(
                [_program("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                timeout=30,
            )
            if ready.returncode == 0:
                return True
            time.sleep(0.1)  # polling a condition, not waiting out a guess
        self._terminate()
        return False

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [_program("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
            capture_output=True, timeout=60,
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresUnavailable(f"psql failed: {result.stderr.decode(errors='replace')}")
        return result.stdout.decode()

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
