"""A web process whose kept database connection PostgreSQL dropped (as a restart does) serves
the next request: a real gunicorn process, real PostgreSQL, pg_terminate_backend."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.conf import settings
from django.db import connection

from hub.workers import database_url

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _health(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - a loopback URL
            return json.load(response)
    except urllib.error.HTTPError as error:  # 503 when anything is down, with the same body
        return json.load(error)


@pytest.fixture
def web(tmp_path):
    """gunicorn serving the hub on a free loopback port, its connections named for the test."""
    name = f"hub-web-faults-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "HUB_MASTER_KEY": settings.HUB_MASTER_KEY,
        "HUB_FILES_DIR": str(settings.HUB_FILES_DIR),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PGAPPNAME": name,
    }
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "hub.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", name
    process.terminate()
    process.wait()


def test_the_first_request_after_the_database_dropped_the_connection_is_served(web):
    base, application_name = web
    assert _health(f"{base}/health/")["database"] is True  # and the connection is kept

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        assert [terminated for (terminated,) in cursor.fetchall()] == [True]

    assert _health(f"{base}/health/")["database"] is True
