"""A throwaway PostgreSQL server for the scale tier: Debian's ``postgresql``, its own cluster in a temp dir.

``initdb`` and ``postgres`` run as the ``postgres`` user when we are root (PostgreSQL refuses to run as
root), on a free loopback port, with the unix socket in the temp dir; the ``prefect`` role logs in over
TCP with a password (scram-sha-256), as a production server would. The server is one process we started:
it is stopped by its PID (SIGINT = PostgreSQL's "fast" shutdown) and the directory removed.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from drsyncer.sandbox.agents import free_port

BIN_DIR = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/15/bin"))
"""The newest installed PostgreSQL's programs (Debian 12: 15)."""
DATABASE = "prefect"
ROLE = "prefect"


def available() -> str | None:
    """Why PostgreSQL cannot run here (``None`` when it can)."""
    if not (BIN_DIR / "postgres").exists():
        return "PostgreSQL is missing: apt-get install -y postgresql (or scripts/ensure-system-packages.sh)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "the postgres user is missing: apt-get install -y postgresql creates it"
    return None


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL server: where it listens and how Prefect connects to it."""

    directory: Path
    port: int
    password: str
    log: Path

    @property
    def socket_dir(self) -> Path:
        return self.directory / "socket"

    @property
    def connection_url(self) -> str:
        """``PREFECT_API_DATABASE_CONNECTION_URL`` for Prefect's asyncpg driver (holds the password)."""
        return f"postgresql+asyncpg://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def query(self, sql: str) -> str:
        """One SQL statement's single value, through ``psql`` on the unix socket."""
        result = subprocess.run(
            [
                str(BIN_DIR / "psql"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                ROLE,
                "-d",
                DATABASE,
                "-XAtc",
                sql,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            user=RUN_AS,
            group=RUN_AS,
        )
        return result.stdout.strip()

    def database_bytes(self) -> int:
        """The size of Prefect's database on disk."""
        return int(self.query(f"SELECT pg_database_size('{DATABASE}')"))


RUN_AS = "postgres" if os.geteuid() == 0 else None
"""``subprocess`` ``user``/``group``: PostgreSQL's programs run as ``postgres`` when we are root."""


@contextmanager
def running_postgres(*, max_connections: int = 100) -> Iterator[Postgres]:
    """Create a cluster, start its server, create Prefect's role and database; stop and remove after."""
    directory = Path(tempfile.mkdtemp(prefix="drsyncer-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    process: subprocess.Popen[bytes] | None = None
    try:
        password = secrets.token_urlsafe(18)
        (directory / "socket").mkdir()
        password_file = directory / "password"
        password_file.write_text(password, encoding="utf-8")
        if os.geteuid() == 0:
            for path in (directory / "socket", password_file):
                shutil.chown(path, "postgres", "postgres")
        subprocess.run(
            [
                str(BIN_DIR / "initdb"),
                "-D",
                str(directory / "data"),
                "-U",
                ROLE,
                "--pwfile",
                str(password_file),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            capture_output=True,
            check=True,
            timeout=120,
            user=RUN_AS,
            group=RUN_AS,
        )
        password_file.unlink()
        port = free_port()
        log = directory / "postgres.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    str(BIN_DIR / "postgres"),
                    "-D",
                    str(directory / "data"),
                    "-p",
                    str(port),
                    "-k",
                    str(directory / "socket"),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"max_connections={max_connections}",
                    "-c",
                    "fsync=off",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                user=RUN_AS,
                group=RUN_AS,
            )
        server = Postgres(directory=directory, port=port, password=password, log=log)
        deadline = time.monotonic() + 60
        while True:
            ready = subprocess.run(
                [str(BIN_DIR / "pg_isready"), "-q", "-h", str(server.socket_dir), "-p", str(port)],
                check=False,
                timeout=30,
            )
            if ready.returncode == 0:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; see {log}")
            time.sleep(0.1)
        subprocess.run(
            [str(BIN_DIR / "createdb"), "-h", str(server.socket_dir), "-p", str(port), "-U", ROLE, DATABASE],
            capture_output=True,
            check=True,
            timeout=60,
            user=RUN_AS,
            group=RUN_AS,
        )
        yield server
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)
