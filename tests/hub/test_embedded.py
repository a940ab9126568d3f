"""The embedded run mode starts a real PostgreSQL and Redis under a data folder."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from unittest import mock

import psycopg2
import pytest
import redis

from hub import embedded

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "hub-data"
    port = free_port()
    yield folder, port
    embedded.stop(folder, port)


def test_start_gives_a_database_and_a_redis_and_starting_again_reuses_them(data_dir):
    folder, port = data_dir

    services = embedded.ensure_running(folder, port)
    again = embedded.ensure_running(folder, port)

    assert again == services
    connection = psycopg2.connect(**_connect_kwargs(services))
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone() == ("hub",)
        # With room for a million-record load between checkpoints.
        for name, value in embedded.SERVER_SETTINGS.items():
            cursor.execute(f"SHOW {name}")
            assert cursor.fetchone() == (value,)
    connection.close()
    assert redis.Redis.from_url(services.redis_url).ping()
    assert embedded._redis_dir_on_port(port) == (folder / "redis").resolve()


def test_a_redis_of_another_hub_on_the_port_is_refused_not_shared(data_dir, tmp_path):
    folder, port = data_dir
    embedded.ensure_running(folder, port)

    with pytest.raises(RuntimeError, match="set HUB_EMBEDDED_REDIS_PORT"):
        embedded.ensure_running(tmp_path / "another-hub", port)

    assert not (tmp_path / "another-hub" / "pgdata").exists()  # nothing was started


def test_stop_stops_both_servers(data_dir):
    folder, port = data_dir
    services = embedded.ensure_running(folder, port)

    embedded.stop(folder, port)

    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(**_connect_kwargs(services), connect_timeout=2)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(services.redis_url, socket_timeout=1).ping()


def _connect_kwargs(services):
    settings = services.database_settings()
    return {"dbname": settings["NAME"], "user": settings["USER"], "host": settings["HOST"]}


# -- the demo's supervisor (make demo) ---------------------------------------------------------


def sleeper() -> list[str]:
    return [sys.executable, "-c", "import time; time.sleep(120)"]


def interrupt_after(seconds: float) -> threading.Thread:
    """Ctrl-C to this process, as the terminal sends it, once ``seconds`` have passed."""
    thread = threading.Thread(
        target=lambda: (time.sleep(seconds), os.kill(os.getpid(), signal.SIGINT)), daemon=True
    )
    thread.start()
    return thread


def test_ctrl_c_stops_every_process_of_the_demo(tmp_path, capsys):
    commands = {"web server": sleeper(), "worker": sleeper()}
    started = []
    real_popen = subprocess.Popen

    def popen(argv, **kwargs):
        started.append(real_popen(argv, **kwargs))
        return started[-1]

    interrupt_after(1.5)
    with mock.patch.object(embedded.subprocess, "Popen", popen):
        status = embedded.serve(
            port=8010, data_dir=tmp_path, redis_port=free_port(), commands=commands
        )

    assert status == 0
    assert [process.poll() for process in started] == [-signal.SIGTERM, -signal.SIGTERM]
    assert "The hub is starting at http://127.0.0.1:8010/ (Ctrl-C stops it)." in (
        capsys.readouterr().out
    )


def test_the_demo_stops_when_one_of_its_processes_dies(tmp_path, capsys):
    failing = [sys.executable, "-c", "raise SystemExit(3)"]

    status = embedded.serve(
        port=8010, data_dir=tmp_path, redis_port=free_port(),
        commands={"web server": failing, "worker": sleeper()},
    )  # fmt: skip

    assert status == 1
    assert "The web server exited (status 3)" in capsys.readouterr().err


def test_the_demo_serves_on_the_port_it_is_given():
    commands = embedded.demo_commands(port=8010)

    assert "127.0.0.1:8010" in commands["web server"]
    assert "--beat" in commands["worker"]
    assert embedded.demo_url(8010) == "http://127.0.0.1:8010/"
    assert embedded.port_number("8010") == 8010


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_a_port_that_is_no_port_is_refused(port, capsys):
    with pytest.raises(SystemExit) as refused:
        embedded.main(["hub.embedded", "serve", "--port", port])

    assert refused.value.code == 2
    assert "port" in capsys.readouterr().err


@pytest.mark.worker
@pytest.mark.django_db
def test_make_demo_serves_on_its_port_and_ctrl_c_stops_it(tmp_path):
    """The real thing: gunicorn and a worker with beat, on the test database, then Ctrl-C."""
    from django.conf import settings
    from django.db import connection

    from hub.workers import database_url

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "HUB_DATA_DIR": str(tmp_path / "data"),
        "HUB_EMBEDDED_REDIS_PORT": str(free_port()),  # nobody's: nothing of anyone's to stop
        "HUB_CELERY_QUEUE": f"demo-test-{port}",  # takes none of the suite's tasks
        "ALLOWED_HOSTS": "127.0.0.1",
        # Started elsewhere than the checkout, which must still hold the tests' settings.
        "PYTHONPATH": str(ROOT),
    }
    data = tmp_path / "data"
    data.mkdir()
    log = tmp_path / "demo.log"
    with log.open("w") as output:
        # A process group of its own, so that whatever it leaves running can be found.
        demo = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "hub.embedded", "serve", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        assert _answers(port, deadline=time.monotonic() + 60, demo=demo) == 302, log.read_text()
        deadline = time.monotonic() + 30  # beat opens its schedule file as the worker starts
        while not list(data.glob("celerybeat-schedule*")) and time.monotonic() < deadline:
            time.sleep(0.3)
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=60)
        with pytest.raises(ProcessLookupError):  # the web server and the worker are gone too
            os.killpg(demo.pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGKILL)
    assert demo.returncode == 0, log.read_text()
    assert f"The hub is starting at http://127.0.0.1:{port}/" in log.read_text()
    assert _answers(port, deadline=time.monotonic()) is None
    assert list(data.glob("celerybeat-schedule*"))
    assert not list(tmp_path.glob("celerybeat-schedule*"))


def _answers(port: int, *, deadline: float, demo=None) -> int | None:
    """The status of /favicon.ico on the port, waiting until ``deadline`` (or the demo's end)
    for an answer."""
    while demo is None or demo.poll() is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/favicon.ico")
            return connection.getresponse().status
        except OSError:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.3)
        finally:
            connection.close()
    return None


def test_the_compose_postgres_runs_with_the_embedded_servers_settings():
    import yaml

    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["postgres"][
        "command"
    ]
    given = dict(flag.split("=", 1) for flag in command[2::2])
    assert command[0] == "postgres" and set(command[1::2]) == {"-c"}
    assert given == embedded.SERVER_SETTINGS


def test_a_setting_someone_has_changed_is_kept_at_the_next_start(data_dir):
    folder, port = data_dir
    services = embedded.ensure_running(folder, port)
    connection = psycopg2.connect(**_connect_kwargs(services))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("ALTER SYSTEM SET max_wal_size = '16GB'")
        cursor.execute("SELECT pg_reload_conf()")

    embedded.ensure_running(folder, port)

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_wal_size")
        assert cursor.fetchone() == ("16GB",)
    connection.close()
