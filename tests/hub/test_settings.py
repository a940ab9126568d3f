import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from hub.env import env_bool, env_int, env_list


def test_env_helpers_read_values_and_refuse_bad_ones(monkeypatch):
    monkeypatch.setenv("HUB_X", "yes")
    assert env_bool("HUB_X", False) is True
    monkeypatch.setenv("HUB_X", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="not a boolean"):
        env_bool("HUB_X", False)
    monkeypatch.setenv("HUB_X", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("HUB_X", 1)
    monkeypatch.setenv("HUB_X", "a.example, b.example,")
    assert env_list("HUB_X", []) == ["a.example", "b.example"]


VALID_KEY = "dGVzdC1vbmx5LW1hc3Rlci1rZXktMzItYnl0ZXMtISE="
AUDIT_KEY = "dGVzdC1vbmx5LWF1ZGl0LXNpZ25pbmcta2V5LTMyYiE="
PERTURBATION_KEY = "dGVzdC1vbmx5LXBlcnR1cmJhdGlvbi1rZXktMzJiISE="


def _import_settings(**env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "DJANGO_", "DATABASE", "REDIS"))
    }
    return subprocess.run(
        [sys.executable, "-c", "import hub.settings"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_refuse_to_start_without_the_master_key():
    result = _import_settings(
        DATABASE_URL="postgres://u@127.0.0.1:5432/hub",
        REDIS_URL="redis://127.0.0.1:6379/0",
        DJANGO_SECRET_KEY="s" * 50,
    )
    assert result.returncode != 0
    assert "HUB_MASTER_KEY must be set" in result.stderr


def test_only_postgresql_is_accepted_as_the_database():
    result = _import_settings(
        DATABASE_URL="mysql://u@127.0.0.1:3306/hub",
        REDIS_URL="redis://127.0.0.1:6379/0",
        DJANGO_SECRET_KEY="s" * 50,
        HUB_MASTER_KEY=VALID_KEY,
        HUB_PERTURBATION_KEY=PERTURBATION_KEY,
    )
    assert result.returncode != 0
    assert "must point at PostgreSQL" in result.stderr


def _production_env(**env) -> dict[str, str]:
    """This process's environment with the hub's own variables replaced by a production set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO_"))}
    return {
        **clean,
        "DATABASE_URL": "postgres://u@127.0.0.1:5432/hub",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DJANGO_SECRET_KEY": "kq2-Vt9nFz7yW1pL0dXc8sRb4mHj6gAe3uYo5iTz1_QwErTyUiOp",
        "HUB_MASTER_KEY": VALID_KEY,
        "HUB_AUDIT_SIGNING_KEY": AUDIT_KEY,
        "HUB_PERTURBATION_KEY": PERTURBATION_KEY,
        "ALLOWED_HOSTS": "hub.example.gov.uk",
        "HUB_SITE_URL": "https://hub.example.gov.uk",
        "DJANGO_SETTINGS_MODULE": "hub.settings",
        **env,
    }


def test_production_settings_pass_the_deployment_checklist():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_master_key_that_is_not_32_bytes_of_base64_is_refused_at_start():
    result = _import_settings(
        DATABASE_URL="postgres://u@127.0.0.1:5432/hub",
        REDIS_URL="redis://127.0.0.1:6379/0",
        DJANGO_SECRET_KEY="s" * 50,
        HUB_MASTER_KEY="k" * 44,
        HUB_PERTURBATION_KEY=PERTURBATION_KEY,
    )
    assert result.returncode != 0
    assert "HUB_MASTER_KEY must be 32 random bytes, base64-encoded" in result.stderr


def test_production_settings_refuse_to_start_without_the_sites_address():
    result = _import_settings(
        DATABASE_URL="postgres://u@127.0.0.1:5432/hub",
        REDIS_URL="redis://127.0.0.1:6379/0",
        DJANGO_SECRET_KEY="s" * 50,
        HUB_MASTER_KEY=VALID_KEY,
        HUB_PERTURBATION_KEY=PERTURBATION_KEY,
    )
    assert result.returncode != 0
    assert "HUB_SITE_URL must be set" in result.stderr


def test_production_settings_refuse_to_start_without_the_audit_signing_key():
    result = _import_settings(
        **{k: v for k, v in _production_env().items() if k != "HUB_AUDIT_SIGNING_KEY"}
    )
    assert result.returncode != 0
    assert "HUB_AUDIT_SIGNING_KEY must be set" in result.stderr
    result = _import_settings(**_production_env(HUB_AUDIT_SIGNING_KEY="k" * 44))
    assert "HUB_AUDIT_SIGNING_KEY must be 32 random bytes, base64-encoded" in result.stderr


# Run in a process of its own with production settings: headers as a browser receives them.
_PRODUCTION_REQUESTS = """
import json, django
from django.conf import settings
# The manifest of hashed static files is made by collectstatic at deployment, not here.
settings.STORAGES["staticfiles"] = {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
django.setup()
from django.test import Client
client = Client(HTTP_HOST="hub.example.gov.uk")
secure = client.get("/login/", secure=True)
plain = client.get("/login/")
print(json.dumps({
    "headers": dict(secure.headers),
    "cookies": {name: dict(morsel) for name, morsel in secure.cookies.items()},
    "plain": [plain.status_code, plain.headers.get("Location")],
}))
"""


@pytest.mark.django_db
def test_production_pages_carry_hsts_no_framing_the_csp_and_secure_cookies():
    import json

    from django.db import connection

    from hub.workers import database_url

    env = _production_env(
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    result = subprocess.run(
        [sys.executable, "-c", _PRODUCTION_REQUESTS], env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    headers = seen["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert seen["cookies"]["csrftoken"]["secure"] is True
    assert seen["plain"] == [301, "https://hub.example.gov.uk/login/"]


def test_production_settings_refuse_to_start_without_the_perturbation_key():
    result = _import_settings(
        **{k: v for k, v in _production_env().items() if k != "HUB_PERTURBATION_KEY"}
    )
    assert result.returncode != 0
    assert "HUB_PERTURBATION_KEY must be set" in result.stderr
    result = _import_settings(**_production_env(HUB_PERTURBATION_KEY="k" * 44))
    assert "HUB_PERTURBATION_KEY must be 32 random bytes, base64-encoded" in result.stderr
