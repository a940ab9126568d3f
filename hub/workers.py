"""Starting a real Celery worker process of this hub, on a queue of the caller's choosing.

Used where a process must run the pipeline on a worker it controls and measures (the
benchmark, the test suite): the worker gets this process's database, broker, keys and files
folder, and takes only tasks sent to ``queue``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

READY_TIMEOUT_SECONDS = 60
READY_POLL_SECONDS = 0.1
# What a worker logs once it takes tasks ("celery@host ready.").
WORKER_READY = re.compile(r"@\S+ ready\.$", re.MULTILINE)


def database_url(database: dict) -> str:
    """A DATABASE_URL for Django's connection settings (a socket folder as a quoted host)."""
    host = quote(database["HOST"] or "", safe="") if database["HOST"] else ""
    port = f":{database['PORT']}" if database.get("PORT") else ""
    password = f":{quote(database['PASSWORD'])}" if database.get("PASSWORD") else ""
    return f"postgres://{quote(database['USER'])}{password}@{host}{port}/{database['NAME']}"


def worker_start(*, queue: str, log_path: Path) -> subprocess.Popen:
    """A Celery worker (one process, solo pool) on this process's database and broker,
    taking ``queue``; returns once a probe sent to that queue is answered and this worker's
    log says it is ready (with other workers on the queue, one of them may answer)."""
    from hub.tasks import probe

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "hub.settings"),
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "HUB_MASTER_KEY": settings.HUB_MASTER_KEY,
        "HUB_PERTURBATION_KEY": settings.HUB_PERTURBATION_KEY,
        "HUB_AUDIT_SIGNING_KEY": settings.HUB_AUDIT_SIGNING_KEY,
        "HUB_FILES_DIR": str(settings.HUB_FILES_DIR),
        "HUB_SITE_URL": settings.HUB_SITE_URL,
        "HUB_CELERY_QUEUE": queue,
    }
    with log_path.open("a") as log:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [
                sys.executable, "-m", "celery", "-A", "hub", "worker",
                "--pool=solo", "--loglevel=INFO", "-Q", queue,
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"The Celery worker exited:\n{log_path.read_text()}")
        try:
            answered = probe.apply_async(args=["ready"], queue=queue).get(timeout=2) == "ready"
        except Exception:  # noqa: BLE001 - not ready yet; keep asking until the deadline
            answered = False
        # Another worker on the queue may have answered: this one is ready when it says so.
        if answered and WORKER_READY.search(log_path.read_text()):
            return process
        if time.monotonic() > deadline:
            worker_stop(process)
            raise RuntimeError(f"The Celery worker never answered:\n{log_path.read_text()}")
        if answered:
            time.sleep(READY_POLL_SECONDS)


def worker_stop(process: subprocess.Popen) -> None:
    """Ask the worker to finish (warm shutdown), killing it if it does not within 20 s."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
