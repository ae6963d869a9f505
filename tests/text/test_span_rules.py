"""The span cleaning rules, class by class, on spans forced onto parsed sentences.

Each test gives the rules a span as spaCy's small model is known to produce it (issue 21)
on sentences other than the issue's examples, so the rules are tested whatever the model
happens to tag in these sentences.
"""

from __future__ import annotations

import pytest

from ramp_env.text import spans as spans_module
from ramp_env.text.gazetteer import Gazetteer, build_gazetteer
from ramp_env.text.span_rules import cuts_a_word, refine

pytestmark = pytest.mark.skipif(not spans_module.spacy_model_available(), reason="spaCy model not installed")


@pytest.fixture(scope="module")
def nlp():
    return spans_module.SpacySpanExtractor().nlp


class _Passage:
    def __init__(self, title: str, text: str) -> None:
        self.title, self.text = title, text


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return build_gazetteer([
        _Passage("Lusaka", "Lusaka is the capital and largest city of Zambia. Lusaka lies on a plateau."),
        _Passage("Hesiod", "Hesiod was an ancient Greek poet active around 700 BC."),
        _Passage("Tang dynasty", "The Tang dynasty was an imperial dynasty of China that ruled from 618 to 907."),
        _Passage("Paraffin wax", "Paraffin wax is a soft colourless solid. Candles are made of paraffin wax."),
        _Passage("Bebop", "Bebop is a style of jazz. Players of bebop used fast tempos."),
        _Passage("Lamps", "Many lamps burn oil. Oil lamps and gas lamps lit cities. Lamps were common."),
        _Passage("Euclid", "Euclid was an ancient Greek mathematician active around 300 BC."),
        _Passage("Confucius", "Confucius was a Chinese philosopher of the Spring and Autumn period."),
    ])


def typed(nlp, text: str, surface: str, label: str, gazetteer: Gazetteer | None = None) -> str | None:
    """The rules' verdict on ``surface`` (its first occurrence) labelled ``label``: the kept text and type."""
    start = text.index(surface)
    out = refine(nlp(text), start, start + len(surface), label, gazetteer)
    return None if out is None else f"{text[out[0]:out[1]]}/{out[2]}"


@pytest.mark.parametrize(
    ("text", "surface", "label"),
    [
        ("China kept a one-child policy for decades.", "one", "NUMBER"),
        ("They argued for a two-state solution.", "two", "NUMBER"),
        ("The Austro-Hungarian army marched.", "Austro", "NORP"),
        ("Trade with the Near East grew quickly.", "East", "PLACE"),
        ("Caravans crossed the Middle East and reached India.", "East", "PLACE"),
        ("He admired Barack Obama deeply.", "Obama", "PERSON"),
        ("The 1990 FIFA World Cup was held in Italy.", "1990", "DATE"),
    ],
)
def test_fragments_of_compounds_and_names_are_dropped(nlp, text: str, surface: str, label: str) -> None:
    assert typed(nlp, text, surface, label) is None


def test_a_title_before_a_name_does_not_make_it_a_fragment(nlp) -> None:
    assert typed(nlp, "The speech of President Lincoln was short.", "Lincoln", "PERSON") == "Lincoln/PERSON"


def test_lists_take_their_majority_type_or_are_dropped_when_the_model_is_confused(nlp) -> None:
    from ramp_env.text.span_rules import harmonise_lists

    text = "It borders Kerala, Karnataka and Goa to the south."
    spans = [(text.index(w), text.index(w) + len(w), t) for w, t in
             (("Kerala", "PLACE"), ("Karnataka", "PLACE"), ("Goa", "PERSON"))]
    assert harmonise_lists(text, spans, None) == ["PLACE", "PLACE", "PLACE"]
    text = "Rulers included the Avars, Kidarites, Alchon Huns, Shahis and Tahirids."
    spans = [(text.index(w), text.index(w) + len(w), t) for w, t in
             (("Avars", "NORP"), ("Kidarites", "PLACE"), ("Shahis", "ORG"), ("Tahirids", "PERSON"))]
    assert harmonise_lists(text, spans, None) == [None, None, None, None]  # four types: the model is lost
    gaz = Gazetteer({"kidarites": "NORP"})
    assert harmonise_lists(text, spans, gaz)[1] == "NORP"  # a member the corpus defines is kept
    text = "Lyon and Mozart"
    assert harmonise_lists(text, [(0, 4, "PLACE"), (9, 15, "PERSON")], None) == [None, None]  # a tie
    text = "In Exodus, Moses led them."  # a clause comma, not a list
    assert harmonise_lists(text, [(3, 9, "WORK"), (11, 16, "PERSON")], None) == ["WORK", "PERSON"]


def test_cuts_a_word() -> None:
    assert cuts_a_word("a one-child policy", 2, 5)
    assert cuts_a_word("the Austria-Hungary union", 4, 11)
    assert cuts_a_word("from 1914–1918 on", 5, 9)
    assert not cuts_a_word("in 1990, the", 3, 7)


@pytest.mark.parametrize(
    ("text", "surface", "label"),
    [
        ("She wrote to Q. The reply came late.", "Q. The", "PERSON"),  # crosses a sentence, one letter left
        ("She wrote to Q. The reply came late.", "Q. The", "PLACE"),  # whatever the type
        ("The temple stood for years before the fire.", "years", "DATE"),
        ("The market opened at night in summer.", "night", "DATE"),
        ("The festival is held annually in the town.", "annually", "DATE"),
        ("Two ships and one boat sank.", "one", "NUMBER"),
        ("Dozens of villages were burned.", "Dozens", "NUMBER"),
        ("Only a few dozen survived.", "a few dozen", "NUMBER"),
        ("Miners dug coal and lamps burned paraffin for light.", "paraffin", "PERSON"),
        ("The city was founded around 3000 BC by farmers.", "BC", "ORG"),
        ("She received the Kennedy Center Honors in 2001.", "Kennedy Center Honors", "ORG"),  # an award
        ("The film won the Grand Prix at the festival.", "Grand Prix", "PLACE"),  # an award
        ("It is the 21st most populous city.", "21st", "DATE"),  # an ordinal, not a date
        ("It hosted the 2013 F1 Powerboat race.", "2013", "DATE"),  # a year inside an event's name
        ("Radium-226 decays slowly.", "Radium-226", "NUMBER"),  # a name with a number
        ("It belongs to the order Tubulidentata today.", "Tubulidentata", "PERSON"),  # a taxon
        ("Ships sailed to parts of the Levante coast.", "Levante", "PERSON"),  # no article before a person
        ("Most Catholics lived in the North.", "North", "PLACE"),  # a bare direction
        ("He was the Grand Duke of Tuscany.", "Grand Duke", "PLACE"),  # a title without its holder
        ("The land fell to the Abbasids later.", "Abbasids", "NORP"),  # a dynasty
        ("He won an Olympic gold medal.", "Olympic", "EVENT"),  # a name modifying a noun
        ('It divides the "Old World" from the rest.', "Old World", "WORK"),  # a quoted term
        ('He set the hymn "Lead Kindly Light, Amid" to music.', "Lead Kindly Light", "PLACE"),  # a quoted title
    ],
)
def test_generic_words_and_broken_spans_are_dropped(nlp, text: str, surface: str, label: str) -> None:
    assert typed(nlp, text, surface, label) is None


@pytest.mark.parametrize(
    ("text", "surface", "label"),
    [
        ("He was born on 12 March 1990 in Leeds.", "12 March 1990", "DATE"),
        ("Jazz spread in the 1920s.", "the 1920s", "DATE"),
        ("The town grew in the nineteenth century.", "the nineteenth century", "DATE"),
        ("The city has 3,000 inhabitants.", "3,000", "NUMBER"),
        ("The country has three million people.", "three million", "NUMBER"),
    ],
)
def test_real_dates_and_numbers_are_kept(nlp, text: str, surface: str, label: str) -> None:
    assert typed(nlp, text, surface, label) is not None


def test_the_corpus_definition_of_a_title_fixes_its_type(nlp, gazetteer: Gazetteer) -> None:
    assert typed(nlp, "Copper is mined near Lusaka today.", "Lusaka", "ORG", gazetteer) == "Lusaka/PLACE"
    assert typed(nlp, "He was born in Lusaka and studied there.", "Lusaka", "ORG", gazetteer) == "Lusaka/PLACE"
    assert typed(nlp, "The poems of Hesiod survive.", "Hesiod", "PLACE", gazetteer) == "Hesiod/PERSON"
    # a dynasty is none of the types (readers call it OTHER): the corpus's definition drops it
    text = "Printing spread under the Tang dynasty quickly."
    assert typed(nlp, text, "Tang dynasty", "DATE", gazetteer) is None


def test_a_title_the_corpus_defines_as_a_thing_is_dropped(nlp, gazetteer: Gazetteer) -> None:
    assert typed(nlp, "Musicians loved Bebop in Harlem.", "Bebop", "ORG", gazetteer) is None
    assert typed(nlp, "Paraffin wax melts easily.", "Paraffin wax", "PERSON", gazetteer) is None


def test_a_common_word_capitalised_at_a_sentence_start_is_no_name(nlp, gazetteer: Gazetteer) -> None:
    assert typed(nlp, "Lamps lit the hall.", "Lamps", "PERSON", gazetteer) is None


def test_an_adjective_made_from_a_defined_person_names_no_people(nlp, gazetteer: Gazetteer) -> None:
    assert typed(nlp, "Pupils learn Euclidean geometry first.", "Euclidean", "NORP", gazetteer) is None
    assert typed(nlp, "Confucian ethics shaped the court.", "Confucian", "NORP", gazetteer) is None
    # a nationality is not an eponym, and without the corpus nothing is known about the name
    assert typed(nlp, "Pupils learn Greek geometry first.", "Greek", "NORP", gazetteer) == "Greek/NORP"
    assert typed(nlp, "Pupils learn Euclidean geometry first.", "Euclidean", "NORP") == "Euclidean/NORP"


def test_the_models_own_label_decides_doubtful_places(nlp, gazetteer: Gazetteer) -> None:
    def placed(text: str, surface: str, source: str, gaz: Gazetteer | None = None) -> str | None:
        start = text.index(surface)
        out = refine(nlp(text), start, start + len(surface), "PLACE", gaz, source)
        return None if out is None else f"{text[out[0]:out[1]]}/{out[2]}"

    # a "facility" with no facility word, and one undefined word the model calls a GPE outside
    # "in"/"at": as often a thing or an event as a place
    assert placed("The statue was cast by the Golden Anchor foundry.", "Golden Anchor", "FAC") is None
    assert placed("A cease-fire followed Brightwater within weeks.", "Brightwater", "GPE") is None
    # vouched for by a preposition, by a facility word, or by the corpus: kept
    assert placed("He was born in Brightwater in 1901.", "Brightwater", "GPE") == "Brightwater/PLACE"
    assert placed("They met at Anfield Stadium often.", "Anfield Stadium", "FAC") == "Anfield Stadium/PLACE"
    assert placed("A cease-fire followed Lusaka within weeks.", "Lusaka", "GPE", gazetteer) == "Lusaka/PLACE"
    # a LOC, or a label from an older caller that does not say: as before
    assert placed("A cease-fire followed Brightwater within weeks.", "Brightwater", "LOC") == "Brightwater/PLACE"
    assert placed("A cease-fire followed Brightwater within weeks.", "Brightwater", "") == "Brightwater/PLACE"


def test_a_category_noun_before_a_list_types_every_member(nlp) -> None:
    from ramp_env.text.span_rules import harmonise_lists

    def listed(text: str, members: tuple[tuple[str, str], ...], with_doc: bool = True) -> list[str | None]:
        spans = [(text.index(w), text.index(w) + len(w), t) for w, t in members]
        return harmonise_lists(text, spans, None, nlp(text) if with_doc else None)

    text = "Trade passed through the port cities of Bari, Brindisi and Taranto."
    members = (("Bari", "PERSON"), ("Brindisi", "PERSON"), ("Taranto", "ORG"))
    assert listed(text, members) == ["PLACE", "PLACE", "PLACE"]
    assert listed(text, members, with_doc=False) == ["PERSON", "PERSON", "PERSON"]  # the model's majority
    text = "The dynasty had three great emperors: Nerva, Trajan, and Hadrian."
    assert listed(text, (("Nerva", "PLACE"), ("Trajan", "PLACE"), ("Hadrian", "PERSON"))) == ["PERSON"] * 3
    # after "of", only places: "the novels of X" names their authors
    text = "She read the novels of Austen, Gaskell and Eliot."
    assert listed(text, (("Austen", "PERSON"), ("Gaskell", "PERSON"), ("Eliot", "PERSON"))) == ["PERSON"] * 3


@pytest.mark.parametrize(
    ("text", "surface", "label", "expected"),
    [
        ("He was born in Tabriz and studied there.", "Tabriz", "ORG", None),  # an ORG the corpus does not define
        ("She settled in Kazan after the war.", "Kazan", "PERSON", "Kazan/PLACE"),
        ("Pages are written in XML by editors.", "XML", "ORG", None),  # an acronym after "in" is no place
        ("Talks with Vodafone failed.", "Vodafone", "ORG", None),  # no organisation word, not a known title
        ("He joined the Communist Party of Cuba.", "Communist Party of Cuba", "ORG", "Communist Party of Cuba/ORG"),
        ("He studied the Neolithic farmers.", "Neolithic", "PERSON", None),  # not a proper noun
        ("They worked at the Goddard Space Flight Center.", "Goddard Space Flight Center", "PERSON",
         "Goddard Space Flight Center/ORG"),
        ("Art flourished under the Song dynasty.", "Song dynasty", "DATE", None),  # dynasties: no type
        ("Castles multiplied in the High Middle Ages.", "High Middle Ages", "PLACE", None),  # periods: no type
        ("The Ottoman Empire expanded.", "Ottoman Empire", "ORG", "Ottoman Empire/PLACE"),
        ("Tools changed in the Bronze Age.", "Bronze Age", "PERSON", None),
        ("The plant grew in the family Rosaceae.", "Rosaceae", "ORG", None),  # a taxon
        ("It was printed by Faber & Gwyer in London.", "Gwyer", "PERSON", None),  # part of "X & Y"
        ("The text was written in Latin by monks.", "Latin", "NORP", None),  # a language
        ("He studied Greek mythology for years.", "Greek", "NORP", "Greek/NORP"),  # a nationality adjective
        ("Ptolemy, the geographer from Alexandria, drew maps.", "Ptolemy", "ORG", "Ptolemy/PERSON"),
        ("The city was named after Atreus, a king in Greek myth.", "Atreus", "PLACE", "Atreus/PERSON"),
        ("The country's capital city is Ouagadougou, in the centre.", "Ouagadougou", "ORG", "Ouagadougou/PLACE"),
        ("A statue of King Djoser stands there.", "King Djoser", "PLACE", "King Djoser/PERSON"),
        ("It set up the General Government of Peru.", "General Government", "PERSON", None),  # no person
        ("He won the General Election easily.", "General Election", "PERSON", "General Election/EVENT"),
        ("She played with the Berlin Philharmonic often.", "Berlin Philharmonic", "EVENT", "Berlin Philharmonic/ORG"),
        ("He founded the Twelfth Dynasty of Egypt.", "Twelfth Dynasty of Egypt", "ORG", None),  # a dynasty
        ("They held pre-Christian beliefs.", "pre-Christian", "NORP", None),
        ("He gave to the World Wide Fund for Nature.", "World Wide Fund", "ORG", None),  # a cut name
        ("The edict of Valentinian II was read.", "Valentinian II", "EVENT", "Valentinian II/PERSON"),
        ("Many died in World War II.", "World War II", "EVENT", "World War II/EVENT"),
        ("He fought at the Battle of Plataea in 479 BC.", "Battle of Plataea", "PLACE", "Battle of Plataea/EVENT"),
        ("He ruled (1963–1966) as president.", "1963–1966", "NUMBER", "1963–1966/DATE"),
        ("The bridge opened in 1932.", "1932", "NUMBER", "1932/DATE"),
        ("The army had 1932 soldiers.", "1932", "NUMBER", "1932/NUMBER"),
        ("Rome fought the Gauls and the Britons.", "Britons", "PERSON", "Britons/NORP"),  # a plural name: a people
        ("It was directed by Akira Kurosawa in Tokyo.", "Akira Kurosawa", "WORK", "Akira Kurosawa/PERSON"),
        ("Han culture spread along the river.", "Han", "PERSON", None),  # a name modifying a noun
        # rules version 3
        ("The team plays at Jordan-Hare Stadium on Saturdays.", "Jordan-Hare Stadium", "PERSON",
         "Jordan-Hare Stadium/PLACE"),  # a facility's head word
        ("Perm Krai lies west of the Urals.", "Perm Krai", "PERSON", "Perm Krai/PLACE"),  # an administrative unit
        ("Thoreau wrote the book Walden at the pond.", "Walden", "PERSON", "Walden/WORK"),  # the kind before a name
        ("The film Casablanca won three awards.", "Casablanca", "PLACE", None),
        ("The film Casablanca won three awards.", "Casablanca", "WORK", "Casablanca/WORK"),
        # a category word the tagger reads as an adjective says nothing: "the general Greek belief"
        ("It was the general Greek belief then.", "Greek", "NORP", "Greek/NORP"),
        ("He sang in the opera Eugene Onegin in Moscow.", "Eugene Onegin", "PERSON", "Eugene Onegin/WORK"),
        # a verb after the name: "the film X won" or "the novel X wrote"; where the model disagrees, dropped
        ("The novel Tolstoy wrote last was short.", "Tolstoy", "PERSON", None),
        ("Buddhism spread along the trade routes.", "Buddhism", "NORP", None),  # a faith, not its believers
        ("He converted to Islam as an adult.", "Islam", "NORP", None),
        ("Mercury is the closest planet to the Sun today.", "Sun", "PLACE", None),  # a body of the sky
        ("It is the largest planet in the Solar System overall.", "Solar System", "ORG", None),
        ("The statue dates from the Hellenistic period.", "Hellenistic", "NORP", None),  # a period's name
        ("The caliph ruled until his death in 656.", "656", "NUMBER", "656/DATE"),  # a year before 1000
        ("The list grew in 656 cases.", "656", "NUMBER", "656/NUMBER"),  # a count: a noun follows
        ("The ion carries a charge of +3 overall.", "+3", "DATE", "+3/NUMBER"),  # a signed quantity
        ("Ships crossed St Brendan's Channel at dawn.", "St Brendan's Channel", "PERSON", None),
        ("Ships crossed St Brendan's Strait at dawn.", "St Brendan's Strait", "PERSON", "St Brendan's Strait/PLACE"),  # named after one
        ("The book tells of Abel, Seth and their kin.", "Abel, Seth", "PERSON", None),  # a list, not one name
        ("The march of Martin Luther King, Jr. was long.", "Martin Luther King, Jr.", "PERSON",
         "Martin Luther King, Jr./PERSON"),
        ("She sang in Peking opera for years.", "Peking", "PLACE", None),  # a place naming another kind
        ("They climbed the Alps mountains.", "Alps", "PLACE", "Alps/PLACE"),
        ("The ratio of Je to the flux is fixed.", "Je", "PERSON", None),  # a symbol
    ],
)
def test_spacy_type_confusions(nlp, text: str, surface: str, label: str, expected: str | None) -> None:
    assert typed(nlp, text, surface, label) == expected
