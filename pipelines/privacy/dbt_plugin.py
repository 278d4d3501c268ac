"""dbt-duckdb plugin: the masking functions the analyst models call (docs/privacy.md).

Listed under ``plugins:`` in dbt_project/profiles.yml, it registers on dbt's DuckDB
connection the scalar functions

- ``cpni_token(identifier)``: the identifier's token;
- ``cpni_token_list(identifiers)``: a comma-separated list, token by token;
- ``cpni_mask_evidence(json)``: a finding's or alert's evidence with its identifiers masked;
- ``cpni_mask_text(text)``: free text with phone-number-like digit runs masked;
- ``cpni_key_id()``: the fingerprint of the key in use.

The key is read here, in Python, from the deployment (pipelines/privacy/keys.py): the SQL
dbt compiles and logs names the functions only, never the key. Tables built with these
functions are plain tables; readers need neither the plugin nor the key.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from pipelines.config import layout
from pipelines.privacy.keys import cpni_key, key_id
from pipelines.privacy.masking import mask_evidence, mask_numbers_in_text, token, token_list


class Plugin(BasePlugin):
    """Registers the masking functions with the key of the data root dbt builds."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        # build.py points TELCOLAKE_DATA at the data root being built.
        self._key = cpni_key(layout())

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        key = self._key
        fingerprint = key_id(key)
        functions = {
            "cpni_token": lambda value: token(key, value),
            "cpni_token_list": lambda value: token_list(key, value),
            "cpni_mask_evidence": lambda value: mask_evidence(key, value),
            "cpni_mask_text": lambda value: mask_numbers_in_text(key, value),
        }
        for name, function in functions.items():
            conn.create_function(name, function, ["VARCHAR"], "VARCHAR", side_effects=False)
        conn.create_function("cpni_key_id", lambda: fingerprint, [], "VARCHAR")
