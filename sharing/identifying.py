"""The identifying fields of personal extracts, decrypted row by row."""

from __future__ import annotations

import json

import pandas as pd

from datasets.models import Supply
from hub.crypto import decrypt_bytes, unwrap_key
from sharing.records import CIPHERTEXT, ROW, SUPPLY


class IdentifyingFields:
    """Decrypts each row's identifying part with its supply's key, for personal extracts."""

    def __init__(self, names: list[str]):
        self.names = names
        self._keys: dict[str, bytes] = {}

    def _key(self, supply_id: str) -> bytes:
        if supply_id not in self._keys:
            wrapped = Supply.objects.values_list("data_key_wrapped", flat=True).get(pk=supply_id)
            self._keys[supply_id] = unwrap_key(bytes(wrapped))
        return self._keys[supply_id]

    def apply(self, chunk: pd.DataFrame) -> pd.DataFrame:
        values = []
        # One decryption per record: each is bound to its own supply and row.
        for blob, supply_id, row in chunk[[CIPHERTEXT, SUPPLY, ROW]].itertuples(index=False):
            if blob is None:
                values.append({})
                continue
            context = f"{supply_id}:{row}".encode()
            values.append(
                json.loads(decrypt_bytes(bytes(blob), self._key(supply_id), context=context))
            )
        revealed = pd.DataFrame.from_records(values, index=chunk.index).reindex(columns=self.names)
        out = chunk.drop(columns=[CIPHERTEXT, SUPPLY, ROW])
        for name in self.names:
            out[name] = revealed[name].where(revealed[name].notna(), out.get(name))
        return out
