import base64
import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from hub import crypto


@pytest.fixture
def key():
    return crypto.new_data_key()


@pytest.mark.parametrize("size", [0, 1, crypto.SEGMENT_SIZE, crypto.SEGMENT_SIZE * 3 + 17])
def test_a_file_reads_back_exactly_as_written(tmp_path, key, size):
    data = os.urandom(size)
    path = tmp_path / "f.enc"
    with crypto.EncryptingWriter(path, key) as writer:
        for start in range(0, size, 100_000):
            writer.write(data[start : start + 100_000])
    assert crypto.read_encrypted(path, key) == data
    # Not for a file of fewer than 16 bytes: one random byte turns up in any ciphertext by
    # chance, so the check would say nothing and fail one run in nine.
    assert data[:64] not in path.read_bytes() or size < 16
    assert oct(path.stat().st_mode)[-3:] == "600"


def test_the_writer_reports_the_plaintext_digest_and_size(tmp_path, key):
    import hashlib

    with crypto.EncryptingWriter(tmp_path / "f.enc", key) as writer:
        writer.write(b"crime_ref,ho_offence_code\n")
    assert writer.plaintext_size == 26
    assert writer.sha256 == hashlib.sha256(b"crime_ref,ho_offence_code\n").hexdigest()


def _segments_file(tmp_path, key):
    path = tmp_path / "f.enc"
    crypto.write_encrypted(path, os.urandom(crypto.SEGMENT_SIZE * 2 + 10), key)
    return path


def test_a_truncated_file_fails_instead_of_yielding_part_of_it(tmp_path, key):
    path = _segments_file(tmp_path, key)
    raw = path.read_bytes()
    segment = 4 + crypto.SEGMENT_SIZE + 16
    header = len(crypto.MAGIC) + 7
    path.write_bytes(raw[: header + segment])  # cut exactly at a segment boundary
    with pytest.raises(crypto.DecryptionError):
        crypto.read_encrypted(path, key)


def test_a_changed_byte_fails(tmp_path, key):
    path = _segments_file(tmp_path, key)
    raw = bytearray(path.read_bytes())
    raw[5000] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(crypto.DecryptionError, match="altered"):
        crypto.read_encrypted(path, key)


def test_another_key_cannot_read_it(tmp_path, key):
    path = _segments_file(tmp_path, key)
    with pytest.raises(crypto.DecryptionError):
        crypto.read_encrypted(path, crypto.new_data_key())


def test_data_keys_are_wrapped_by_the_master_key(settings, key):
    wrapped = crypto.wrap_key(key)
    assert key not in wrapped
    assert crypto.unwrap_key(wrapped) == key
    settings.HUB_MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_key(wrapped)


def test_small_values_are_bound_to_their_context(key):
    blob = crypto.encrypt_bytes(b'{"name": "J Smith"}', key, context=b"record:1")
    assert crypto.decrypt_bytes(blob, key, context=b"record:1") == b'{"name": "J Smith"}'
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(blob, key, context=b"record:2")


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_master_key_is_refused_loudly(settings, value):
    settings.HUB_MASTER_KEY = value
    with pytest.raises(ImproperlyConfigured):
        crypto.master_key()
