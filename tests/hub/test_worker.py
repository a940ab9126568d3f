"""The Celery path through a real broker and a real worker process (not eager mode)."""

import pytest
from redis import Redis

from hub import celery_app
from hub.tasks import probe

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_task_goes_through_the_broker_to_a_worker_and_back(celery_worker_process):
    assert not celery_app.conf.task_always_eager
    result = probe.delay("hello")
    assert result.get(timeout=10) == "hello"


def test_health_reports_database_redis_and_worker(celery_worker_process, client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"database": True, "redis": True, "worker": True}


def test_health_is_503_when_no_worker_takes_the_queue(client, settings, monkeypatch):
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-nobody-listens"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    try:
        response = client.get("/health/")
    finally:
        Redis.from_url(settings.REDIS_URL).delete(queue)
    assert response.status_code == 503
    assert response.json() == {"database": True, "redis": True, "worker": False}
