"""The secret scan's pattern finds exactly what an alternation of the same strings finds."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tests.support.literal_pattern import literal_pattern

WORDS = st.lists(st.text(alphabet="ab.c", min_size=1, max_size=6), min_size=1, max_size=12)


@given(words=WORDS, text=st.text(alphabet="ab.cx", max_size=40))
def test_it_finds_what_the_plain_alternation_finds(words: list[str], text: str) -> None:
    plain = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))
    assert bool(literal_pattern(words).search(text)) == bool(plain.search(text))


def test_a_prefix_of_a_secret_is_not_the_secret_and_no_words_match_nothing() -> None:
    pattern = literal_pattern(["eyJhbGciOi.abc", "eyJhbGciOi.abd", "ventilate-0600"])
    assert pattern.search("Bearer eyJhbGciOi.abd here") and pattern.search("ventilate-0600")
    assert not pattern.search("eyJhbGciOi.ab") and not pattern.search("ventilate-060")
    assert not literal_pattern([]).search("anything")
