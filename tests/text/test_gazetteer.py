"""Types read from a corpus's lead sentences, and the gazetteer's cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ramp_env.corpus.passage import Passage
from ramp_env.text.gazetteer import (
    OTHER,
    Gazetteer,
    build_gazetteer,
    head_category,
    lead_category,
    load_or_build,
)


@pytest.mark.parametrize(
    ("predicate", "kind"),
    [
        ("the capital and most populous city of Zambia.", "PLACE"),
        ("an administrative centre and largest city of the oblast.", "PLACE"),
        ("a Hungarian composer, pianist and teacher.", "PERSON"),
        ("an Indian Vedic scholar-monk and teacher.", "PERSON"),
        ("the ruling dynasty of Korea for five centuries.", OTHER),  # dynasties: none of the types
        ("a landlocked country primarily located in Africa.", "PLACE"),
        ("one of the largest of the Aegean islands.", "PLACE"),
        ("an armed conflict sparked by a revolt.", "EVENT"),
        ("a 1962 Japanese drama film directed by Ozu.", "WORK"),
        ("a West African ethnic group who live in Ghana.", "NORP"),
        ("the standard markup language for web pages.", OTHER),  # languages: none of the types
        ("a space telescope launched in 1990.", "WORK"),  # a product
        ("the second planet from the Sun.", "PLACE"),
        ("a chemical element with symbol Ta.", None),  # no category noun
    ],
)
def test_head_category(predicate: str, kind: str | None) -> None:
    assert head_category(predicate) == kind


def test_lead_category_needs_a_sentence_about_the_title() -> None:
    assert lead_category("Lusaka", "Lusaka is the capital of Zambia. It grew fast.") == "PLACE"
    assert lead_category("Lusaka", "Zambia is a country in Africa.") is None  # about something else
    assert lead_category("Lusaka", "Copper made Lusaka rich.") is None  # no copula


def test_build_gazetteer_types_titles_and_finds_common_words() -> None:
    passages = [
        Passage("a#0", "Lusaka", "Lusaka is the capital of Zambia. Traders in Lusaka sell copper."),
        Passage("a#1", "Lusaka", "Lusaka was founded in 1905."),
        Passage("b#0", "Paraffin wax", "Paraffin wax is a soft solid. Candles burn paraffin wax."),
        Passage("c#0", "Hesiod", "Hesiod was a Greek poet. Oil lamps and more lamps lit his hall."),
    ]
    gazetteer = build_gazetteer(passages)
    assert gazetteer.lookup("Lusaka") == "PLACE"
    assert gazetteer.lookup("the Hesiod") == "PERSON"  # leading article ignored
    assert gazetteer.lookup("paraffin wax") == OTHER  # the corpus writes it in lower case: a common noun
    assert gazetteer.lookup("Zambia") is None
    assert gazetteer.is_common_word("Lamps") and not gazetteer.is_common_word("Lusaka")


def test_gazetteer_keeps_every_multi_word_title_typed_or_not() -> None:
    passages = [
        Passage("a#0", "Bay of Bengal", "The Bay of Bengal is the northeastern part of the Indian Ocean."),
        Passage("b#0", "Trinidad and Tobago", "Trinidad and Tobago lies off Venezuela."),  # no category noun
        Passage("c#0", "Lusaka", "Lusaka is the capital and largest city of Zambia."),
    ]
    gazetteer = build_gazetteer(passages)
    assert gazetteer.is_longer_name("the Bay of Bengal") and gazetteer.is_longer_name("Trinidad and  Tobago")
    assert not gazetteer.is_longer_name("Lusaka")  # one word: never a longer name
    assert not gazetteer.is_longer_name("Bay of")


def test_gazetteer_json_round_trip_and_fingerprint() -> None:
    g = Gazetteer({"lusaka": "PLACE"}, frozenset({"lamps"}), frozenset({"bay of bengal"}))
    assert Gazetteer.from_json(json.loads(json.dumps(g.to_json()))) == g
    assert g.fingerprint != Gazetteer({"lusaka": "ORG"}, frozenset({"lamps"}), g.names).fingerprint
    assert g.fingerprint != Gazetteer(g.types, g.common_words).fingerprint  # the titles are part of the hash
    with pytest.raises(ValueError, match="gazetteer"):
        Gazetteer.from_json({"version": 1, "types": {}, "common_words": []})  # a version-1 cache is rebuilt
    with pytest.raises(ValueError, match="gazetteer"):
        Gazetteer.from_json({"version": 2, "types": {}, "common_words": [], "names": "bay of bengal"})
    with pytest.raises(ValueError, match="gazetteer"):
        Gazetteer.from_json({"version": -1, "types": {}, "common_words": []})


def test_load_or_build_caches_and_rebuilds_for_another_corpus(tmp_path: Path) -> None:
    path = tmp_path / "gazetteer.json"
    calls = []

    def passages(text: str):
        def make():
            calls.append(text)
            return [Passage("x#0", "Lusaka", text)]
        return make

    first = load_or_build(path, passages("Lusaka is a city in Zambia."), {"store": "a"})
    again = load_or_build(path, passages("Lusaka is a city in Zambia."), {"store": "a"})
    assert first == again and len(calls) == 1  # read from the cache
    other = load_or_build(path, passages("Lusaka is a band from Leeds."), {"store": "b"})
    assert other.lookup("Lusaka") == "ORG" and len(calls) == 2  # another store: rebuilt
    path.write_text("{not json", encoding="utf-8")
    assert load_or_build(path, passages("Lusaka is a city."), {"store": "b"}).lookup("Lusaka") == "PLACE"
