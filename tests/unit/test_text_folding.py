"""The identity fold's ASCII shortcut gives exactly what the full Unicode fold gives."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from scimtenancy_server.domain.text_folding import fold_identity


def full_fold(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_folds_as_the_full_fold_does(text: str) -> None:
    assert fold_identity(text) == full_fold(text)


@given(st.text())
def test_every_text_folds_as_the_full_fold_does(text: str) -> None:
    assert fold_identity(text) == full_fold(text)
    assert fold_identity(fold_identity(text)) == fold_identity(text)
