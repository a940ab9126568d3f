"""Encryption at rest: AES-256-GCM with envelope keys.

Every stored file gets its own random data key. The data key is kept only wrapped (encrypted)
by the master key from ``HUB_MASTER_KEY``, so rotating the master key means re-wrapping keys,
not re-encrypting files: a wrapped key names the master key that wrapped it, keys named in
``HUB_PREVIOUS_MASTER_KEYS`` still unwrap, and ``rotate_master_key`` re-wraps them.

Files are encrypted as a stream of authenticated segments, so a file of any size is written
and read without holding it whole, and a truncated, reordered or altered file fails to decrypt
instead of yielding partial data.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from hub.env import check_key

MAGIC = b"CSPHUB1"
SEGMENT_SIZE = 1024 * 1024
_NONCE_PREFIX_SIZE = 7  # + 4-byte segment counter + 1-byte final flag = 12-byte GCM nonce
_LENGTH = struct.Struct(">I")


class DecryptionError(ValueError):
    """The ciphertext is not intact or was not made with this key."""


class MasterKeyUnavailable(DecryptionError):
    """The data key was wrapped by a master key this process is not configured with."""


# A wrapped key: version byte, the wrapping master key's id, nonce, AES-GCM(data key). The
# header is authenticated with the key, so a wrapped key cannot be relabelled.
_WRAP_VERSION = b"\x01"
_KEY_ID_BYTES = 8
_WRAP_CONTEXT = b"hub-data-key"
_WRAPPED_SIZE = 1 + _KEY_ID_BYTES + 12 + 32 + 16


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[: 2 * _KEY_ID_BYTES]


def master_key() -> bytes:
    return base64.b64decode(check_key("HUB_MASTER_KEY", settings.HUB_MASTER_KEY))


def master_key_id() -> str:
    """A short fingerprint of the master key, stored beside wrapped keys for rotation."""
    return _key_id(master_key())


def master_keys() -> dict[str, bytes]:
    """Every configured master key by id: the current one first, then the previous ones."""
    keys = {master_key_id(): master_key()}
    for value in settings.HUB_PREVIOUS_MASTER_KEYS:
        key = base64.b64decode(check_key("HUB_PREVIOUS_MASTER_KEYS", value))
        keys.setdefault(_key_id(key), key)
    return keys


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_key(data_key: bytes) -> bytes:
    """``data_key`` wrapped by the current master key, always."""
    key = master_key()
    header = _WRAP_VERSION + bytes.fromhex(_key_id(key))
    nonce = os.urandom(12)
    return header + nonce + AESGCM(key).encrypt(nonce, data_key, _WRAP_CONTEXT + header)


def wrapped_key_id(wrapped: bytes) -> str | None:
    """The id of the master key a wrapped key names; None for keys wrapped before wrapped
    keys named their master key."""
    wrapped = bytes(wrapped)
    if len(wrapped) == _WRAPPED_SIZE and wrapped[:1] == _WRAP_VERSION:
        return wrapped[1 : 1 + _KEY_ID_BYTES].hex()
    return None


def unwrap_key(wrapped: bytes) -> bytes:
    """The data key, unwrapped by the master key it names, whether current or previous.

    MasterKeyUnavailable names the key when it is not configured."""
    wrapped = bytes(wrapped)
    keys = master_keys()
    key_id = wrapped_key_id(wrapped)
    if key_id is not None:
        if key_id not in keys:
            raise MasterKeyUnavailable(
                f"The data key was wrapped by master key {key_id}, which is not configured: "
                "set it in HUB_PREVIOUS_MASTER_KEYS until rotate_master_key has re-wrapped it"
            )
        header = wrapped[: 1 + _KEY_ID_BYTES]
        attempts = [(keys[key_id], header, wrapped[len(header) :])]
    else:
        # An unlabelled key: whichever configured master key authenticates it wrapped it.
        attempts = [(key, b"", wrapped) for key in keys.values()]
    for key, header, sealed in attempts:
        try:
            return AESGCM(key).decrypt(sealed[:12], sealed[12:], _WRAP_CONTEXT + header)
        except (InvalidTag, ValueError):  # another master key, or a damaged wrapped key
            continue
    raise DecryptionError("The data key cannot be unwrapped with the configured master keys")


def unwrapping_key_id(wrapped: bytes) -> str | None:
    """The id of the master key that wrapped ``wrapped``: the one it names, or for an
    unlabelled key the configured key that unwraps it; None if no configured key does."""
    key_id = wrapped_key_id(wrapped)
    if key_id is not None:
        return key_id
    for candidate, key in master_keys().items():
        try:
            AESGCM(key).decrypt(bytes(wrapped[:12]), bytes(wrapped[12:]), _WRAP_CONTEXT)
        except (InvalidTag, ValueError):
            continue
        return candidate
    return None


def rewrap_key(wrapped: bytes) -> bytes | None:
    """``wrapped`` wrapped again by the current master key; None if it already is."""
    if wrapped_key_id(wrapped) == master_key_id():
        return None
    return wrap_key(unwrap_key(wrapped))


def encrypt_bytes(data: bytes, data_key: bytes, *, context: bytes = b"") -> bytes:
    """One small value (e.g. a record's identifying fields); ``context`` binds it to its owner."""
    nonce = os.urandom(12)
    return nonce + AESGCM(data_key).encrypt(nonce, data, context)


def decrypt_bytes(blob: bytes, data_key: bytes, *, context: bytes = b"") -> bytes:
    try:
        return AESGCM(data_key).decrypt(bytes(blob[:12]), bytes(blob[12:]), context)
    except Exception as error:
        raise DecryptionError("The value is damaged or belongs elsewhere") from error


def _nonce(prefix: bytes, counter: int, final: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


class EncryptingWriter(io.RawIOBase):
    """A write-only file that encrypts what is written to ``path`` in authenticated segments."""

    def __init__(self, path: Path, data_key: bytes):
        super().__init__()
        self._aead = AESGCM(data_key)
        self._prefix = os.urandom(_NONCE_PREFIX_SIZE)
        self._counter = 0
        self._buffer = bytearray()
        self.plaintext_size = 0
        self._sha256 = hashlib.sha256()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "xb")  # noqa: SIM115 - closed in close()
        os.chmod(path, 0o600)
        self._file.write(MAGIC + self._prefix)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buffer += data
        self.plaintext_size += len(data)
        self._sha256.update(data)
        while len(self._buffer) > SEGMENT_SIZE:
            self._write_segment(bytes(self._buffer[:SEGMENT_SIZE]), final=False)
            del self._buffer[:SEGMENT_SIZE]
        return len(data)

    def _write_segment(self, plaintext: bytes, *, final: bool) -> None:
        nonce = _nonce(self._prefix, self._counter, final)
        ciphertext = self._aead.encrypt(nonce, plaintext, None)
        self._file.write(_LENGTH.pack(len(ciphertext)) + ciphertext)
        self._counter += 1

    @property
    def sha256(self) -> str:
        """The SHA-256 of the plaintext written so far."""
        return self._sha256.hexdigest()

    def close(self) -> None:
        if not self.closed:
            self._write_segment(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._file.close()
        super().close()


class DecryptingReader(io.RawIOBase):
    """A read-only stream of the plaintext of a file written by EncryptingWriter."""

    def __init__(self, path: Path, data_key: bytes):
        super().__init__()
        self._aead = AESGCM(data_key)
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        header = self._file.read(len(MAGIC) + _NONCE_PREFIX_SIZE)
        if not header.startswith(MAGIC):
            self._file.close()
            raise DecryptionError(f"{path.name} is not an encrypted hub file")
        self._prefix = header[len(MAGIC) :]
        self._counter = 0
        self._pending = b""
        self._finished = False

    def readable(self) -> bool:
        return True

    def _next_segment(self) -> None:
        length_bytes = self._file.read(_LENGTH.size)
        if len(length_bytes) < _LENGTH.size:
            raise DecryptionError("The file ends before its last segment: it was truncated")
        (length,) = _LENGTH.unpack(length_bytes)
        ciphertext = self._file.read(length)
        is_final = self._file.peek(1) == b"" if hasattr(self._file, "peek") else False
        try:
            self._pending = self._aead.decrypt(
                _nonce(self._prefix, self._counter, is_final), ciphertext, None
            )
        except Exception as error:
            raise DecryptionError(
                "A segment failed authentication: the file was altered"
            ) from error
        self._counter += 1
        self._finished = is_final

    def readinto(self, buffer) -> int:
        while not self._pending and not self._finished:
            self._next_segment()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


def open_encrypted(path: Path, data_key: bytes) -> io.BufferedReader:
    return io.BufferedReader(DecryptingReader(path, data_key), buffer_size=SEGMENT_SIZE)


def iter_decrypted(path: Path, data_key: bytes, block_size: int = 65536):
    """The plaintext in blocks, for streaming a stored file to a download."""
    with open_encrypted(path, data_key) as stream:
        while block := stream.read(block_size):
            yield block


def read_encrypted(path: Path, data_key: bytes) -> bytes:
    with open_encrypted(path, data_key) as stream:
        return stream.read()


def write_encrypted(path: Path, data: bytes, data_key: bytes) -> None:
    with EncryptingWriter(path, data_key) as writer:
        writer.write(data)
