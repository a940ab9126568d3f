"""The embedded run mode starts a real PostgreSQL and Redis under a data folder."""

import socket

import psycopg2
import pytest
import redis

from hub import embedded


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
