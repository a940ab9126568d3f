"""Fixtures shared by the whole suite: personas, a real Celery worker, a real browser."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from datasets.catalogue import read_catalogue
from datasets.demo import demo_supplies_queue
from datasets.models import Supply
from datasets.storage import storage_sync
from hub.access import two_factor_required
from hub.demo import demo_load
from hub.models import User
from hub.selectors import totp_device
from hub.workers import worker_start, worker_stop

CHROMIUM = Path("/usr/bin/chromium")
PERSONA_PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def personas(db):
    """The demo partnership and its personas (hub/demo.py), each with PERSONA_PASSWORD.

    Without the gazetteer, which the tests that geocode load themselves."""
    demo_load(reference_data=False)
    users = {user.username: user for user in User.objects.all()}
    for user in users.values():
        user.set_password(PERSONA_PASSWORD)
        user.save(update_fields=["password"])
    return users


@pytest.fixture
def api_client():
    return APIClient()


def authenticator(user: User) -> TOTPDevice:
    """The user's confirmed TOTP device, set up now if they have none (as a test persona
    would have done on their first sign-in)."""
    return totp_device(user=user) or TOTPDevice.objects.create(
        user=user, name="Test authenticator", confirmed=True
    )


def totp_code(user: User) -> str:
    """The code the user's authenticator shows now. The device forgets the codes it has
    accepted, so that one test may sign the same user in more than once."""
    device = authenticator(user)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, drift=0)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def sign_in(client, user: User) -> None:
    """Log the test client in as ``user``; where the user needs a second factor (hub.selectors
    .two_factor_required) or has one, the session is verified with their TOTP device too."""
    client.force_login(user)
    if totp_device(user=user) is None and not two_factor_required(user=user):
        return
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = authenticator(user).persistent_id
    session.save()


def browser_sign_in(page, live_server, username: str, password: str = PERSONA_PASSWORD) -> None:
    """Sign in through the form, typing the authenticator's code where a second step is owed;
    returns on the page the sign-in leads to."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    user = User.objects.get(username=username)
    needs_code = totp_device(user=user) is not None or two_factor_required(user=user)
    code = totp_code(user) if needs_code else None
    page.get_by_role("button", name="Sign in").click()
    if code is not None:
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Verify").click()


def start_worker(queue: str, log_path: Path) -> subprocess.Popen:
    """A real Celery worker process on the test database, taking ``queue``; waits until it
    answers a probe sent to that queue."""
    return worker_start(queue=queue, log_path=log_path)


def stop_worker(process: subprocess.Popen) -> None:
    worker_stop(process)


@pytest.fixture
def own_queue(settings, monkeypatch):
    """This test's tasks go to a queue of its own, which only workers it starts take; the
    queue is emptied afterwards."""
    from redis import Redis

    from hub import celery_app

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-{uuid.uuid4().hex[:6]}"
    redis_url = settings.REDIS_URL
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    yield queue
    Redis.from_url(redis_url).delete(queue)


def queued_task_args(queue: str, task: str) -> list[tuple]:
    """The arguments of each ``task`` waiting in ``queue``, oldest first."""
    from redis import Redis

    found = []
    for raw in reversed(Redis.from_url(settings.REDIS_URL).lrange(queue, 0, -1)):
        message = json.loads(raw)
        assert message["headers"]["task"] == task
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.append(tuple(args))
    return found


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database's records table with a column for every catalogue field, as
    load_catalogue leaves it: added once, not again inside every test's transaction."""
    with django_db_blocker.unblock():
        storage_sync(read_catalogue())


@pytest.fixture(scope="session")
def worker_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker") / "worker.log"


DRAIN_TIMEOUT_SECONDS = 120


def worker_drain(queue: str) -> None:
    """Returns once the worker taking ``queue`` has finished every task queued so far, and
    those they queued in turn: a solo worker fetching one task at a time answers a probe
    only after the tasks ahead of it. (A task it holds back to retry later is not waited
    for.)"""
    from redis import Redis

    from hub.tasks import probe

    broker = Redis.from_url(settings.REDIS_URL)
    while True:
        probe.apply_async(args=["drained"], queue=queue).get(timeout=DRAIN_TIMEOUT_SECONDS)
        if not broker.llen(queue):
            return


@pytest.fixture(autouse=True)
def worker_done_before_flush(request):
    """A test that ends while the suite's worker is still at work it started (deleting
    withdrawn records, say) would have its database flushed under the worker's transaction;
    the flush waits for the worker to finish first."""
    names = request.fixturenames
    if "celery_worker_process" not in names or "own_queue" in names:
        yield
        return
    # The database set up before this fixture, so torn down after it. (A worker sees only
    # what is committed: its tests are transactional.)
    request.getfixturevalue("transactional_db")
    yield
    if request.getfixturevalue("celery_worker_process").poll() is not None:
        pytest.fail("The suite's Celery worker has exited; see its log.")
    worker_drain(settings.CELERY_TASK_DEFAULT_QUEUE)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, worker_log):
    """The suite's worker, on this run's queue."""
    process = start_worker(settings.CELERY_TASK_DEFAULT_QUEUE, worker_log)
    yield process
    stop_worker(process)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright, headless."""
    if not CHROMIUM.exists():
        pytest.fail("Browser tests need Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls that tests make
    # around it are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def supplied(personas, celery_worker_process):
    """The demo's personas with last month's sample supplies processed."""
    from sanitise.demo import demo_gazetteer_load

    demo_gazetteer_load()
    demo_supplies_queue()
    deadline = time.monotonic() + 120
    while Supply.objects.exclude(status="completed").exists():
        assert time.monotonic() < deadline
        time.sleep(0.3)
    return personas


def supply_row(**fields) -> Supply:
    """A supply row with no file behind it, for tests of what reads supplies (schedules,
    quality, the audit trail); ``fields`` give the dataset, agency, period and the rest."""
    defaults = {
        "supplier_name": "A Supplier",
        "supplier_contact": "supplier@example.invalid",
        "original_filename": "file.csv",
        "file_format": "csv",
        "file_size": 1,
        "file_sha256": "0" * 64,
        "data_key_wrapped": b"",
        "master_key_id": "test",
    }
    return Supply.objects.create(**{**defaults, **fields})
