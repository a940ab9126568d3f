"""Settings from the environment, read through helpers that fail loudly on bad values."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_required(name: str, why: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set: {why}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from error


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def check_key(name: str, value: str, size: int = 32) -> str:
    """Fail loudly unless ``value`` is ``size`` random bytes, base64-encoded."""
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != size:
        raise ImproperlyConfigured(
            f"{name} must be {size} random bytes, base64-encoded, e.g. from "
            f"python -c 'import base64,os;print(base64.b64encode(os.urandom({size})).decode())'"
        )
    return value


def data_dir() -> Path:
    return Path(env_str("HUB_DATA_DIR") or BASE_DIR / "var").resolve()


def embedded_redis_port() -> int:
    return env_int("HUB_EMBEDDED_REDIS_PORT", 6391)


def is_embedded() -> bool:
    """No DATABASE_URL: run on the embedded PostgreSQL and Redis under HUB_DATA_DIR."""
    return not env_str("DATABASE_URL")


def local_secret(path: Path, generate) -> str:
    """Read a secret kept in a 0600 file under the data folder, creating it on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(generate())
    return path.read_text().strip()
