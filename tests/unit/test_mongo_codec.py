from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from scimtenancy_server.storage.mongo_codec import _map_keys, escape_key, unescape_key

keys = st.text(alphabet=st.sampled_from("ab.$%2E4:"), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)


@given(keys)
def test_escaped_keys_are_storable_and_round_trip(key: str) -> None:
    escaped = escape_key(key)
    assert "." not in escaped
    assert not escaped.startswith("$")
    assert unescape_key(escaped) == key


@given(st.dictionaries(keys, json_values, max_size=4))
def test_documents_round_trip(document: dict[str, Any]) -> None:
    assert _map_keys(_map_keys(document, escape_key), unescape_key) == document
