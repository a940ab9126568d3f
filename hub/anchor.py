"""Signed checkpoints of the audit chain, kept where the database's writer cannot reach them.

A checkpoint names an entry, its hash (which pins every entry before it), how many entries
the trail then held where known, and when; it is signed with Ed25519 under
``HUB_AUDIT_SIGNING_KEY``, a key the database never holds. Checkpoints are appended as JSON
lines to a file per host under ``HUB_AUDIT_ANCHOR_DIR``; nothing here rewrites a line.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import functools
import json
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.utils import timezone

FILE_PATTERN = "checkpoints.*.jsonl"


@dataclass(frozen=True)
class Checkpoint:
    entry_id: int
    entry_hash: str
    count: int | None
    signed_at: str
    public_key: str
    where: str  # file name and line number, for people to find it


@dataclass(frozen=True)
class BadLine:
    """A line that is not a checkpoint signed by a trusted key."""

    where: str
    reason: str


@functools.cache
def _private_key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed))


def _signing_key() -> Ed25519PrivateKey:
    return _private_key(settings.HUB_AUDIT_SIGNING_KEY)


def public_key_text(key: Ed25519PrivateKey | None = None) -> str:
    """The base64 of the raw public key of ``key`` (the configured signing key by default)."""
    raw = (key or _signing_key()).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def trusted_public_keys() -> set[str]:
    """The signing key's public key, and those of keys it replaced (a rotation leaves their
    checkpoints readable without keeping the retired private keys)."""
    return {public_key_text(), *settings.HUB_AUDIT_PREVIOUS_PUBLIC_KEYS}


def _signed_bytes(*, entry_id: int, entry_hash: str, count: int | None, signed_at: str) -> bytes:
    content = {"entry": entry_id, "hash": entry_hash, "count": count, "at": signed_at}
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def checkpoint_append(*, entry_id: int, entry_hash: str, count: int | None = None) -> Checkpoint:
    """Sign a checkpoint of this entry and append it to this host's checkpoint file."""
    key = _signing_key()
    signed_at = timezone.now().isoformat()
    signature = key.sign(
        _signed_bytes(entry_id=entry_id, entry_hash=entry_hash, count=count, signed_at=signed_at)
    )
    line = {
        "entry": entry_id,
        "hash": entry_hash,
        "count": count,
        "at": signed_at,
        "key": public_key_text(key),
        "sig": base64.b64encode(signature).decode(),
    }
    path = _own_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND and one write per line under an exclusive lock: the processes of one host
    # (web, worker, beat) never interleave or overwrite each other's lines.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, (json.dumps(line, sort_keys=True) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return Checkpoint(entry_id, entry_hash, count, signed_at, line["key"], path.name)


def _own_file() -> Path:
    # A file per host, so that hosts sharing the folder need no lock between them.
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"
    return Path(settings.HUB_AUDIT_ANCHOR_DIR) / f"checkpoints.{host}.jsonl"


def checkpoints_read() -> Iterator[Checkpoint | BadLine]:
    """Every line of every checkpoint file: a checkpoint whose signature holds under a trusted
    key, or what is wrong with the line."""
    trusted = trusted_public_keys()
    for path in sorted(Path(settings.HUB_AUDIT_ANCHOR_DIR).glob(FILE_PATTERN)):
        with path.open("rb") as lines:
            for number, raw in enumerate(lines, start=1):
                yield _checkpoint(raw, f"{path.name}:{number}", trusted)


def _checkpoint(raw: bytes, where: str, trusted: set[str]) -> Checkpoint | BadLine:
    try:
        line = json.loads(raw)
        entry_id, entry_hash, count = int(line["entry"]), str(line["hash"]), line["count"]
        signed_at, public_key = str(line["at"]), str(line["key"])
        signature = base64.b64decode(line["sig"], validate=True)
        if count is not None:
            count = int(count)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return BadLine(where, f"Checkpoint {where} is not a checkpoint line: it was damaged.")
    if public_key not in trusted:
        reason = (
            f"Checkpoint {where} (for entry {entry_id}) is signed by key {public_key[:12]}…, "
            "which is not a trusted audit key: it is forged."
        )
        return BadLine(where, reason)
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)).verify(
            signature,
            _signed_bytes(
                entry_id=entry_id, entry_hash=entry_hash, count=count, signed_at=signed_at
            ),
        )
    except (InvalidSignature, ValueError):
        reason = (
            f"Checkpoint {where} (for entry {entry_id}) does not match its signature: it was "
            "forged or altered."
        )
        return BadLine(where, reason)
    return Checkpoint(entry_id, entry_hash, count, signed_at, public_key, where)
