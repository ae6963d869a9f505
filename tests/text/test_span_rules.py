"""The span cleaning rules, class by class, on spans forced onto parsed sentences.

Each test gives the rules a span as spaCy's small model is known to produce it (issue 21)
on sentences other than the issue's examples, so the rules are tested whatever the model
happens to tag in these sentences.
"""

from __future__ import annotations

import pytest

from ramp_env.text import spans as spans_module
from ramp_env.text.gazetteer import Gazetteer, build_gazetteer
from ramp_env.text.span_rules import cuts_a_word, inside_a_title, refine

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
        ("The voyage of Vasco da Gama reached India.", "Vasco", "PERSON"),  # a name particle follows
        ("The voyage of Vasco da Gama reached India.", "Gama", "PLACE"),  # a name particle precedes
        ("Music by Ludwig van Beethoven was played.", "Ludwig", "PERSON"),
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
    assert typed(nlp, "The poems of Hesiod survive.", "Hesiod", "PLACE", gazetteer) == "Hesiod/PERSON"
    # a dynasty is none of the types (readers call it OTHER): the corpus's definition drops it
    text = "Printing spread under the Tang dynasty quickly."
    assert typed(nlp, text, "Tang dynasty", "DATE", gazetteer) is None


def test_a_title_the_corpus_defines_as_a_thing_is_dropped(nlp, gazetteer: Gazetteer) -> None:
    assert typed(nlp, "Musicians loved Bebop in Harlem.", "Bebop", "ORG", gazetteer) is None
    assert typed(nlp, "Paraffin wax melts easily.", "Paraffin wax", "PERSON", gazetteer) is None


def test_a_common_word_capitalised_at_a_sentence_start_is_no_name(nlp, gazetteer: Gazetteer) -> None:
    assert typed(nlp, "Lamps lit the hall.", "Lamps", "PERSON", gazetteer) is None


@pytest.mark.parametrize(
    ("text", "surface", "label", "expected"),
    [
        ("He was born in Tabriz and studied there.", "Tabriz", "ORG", "Tabriz/PLACE"),
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
        ("The emperor reigned until his murder in 578.", "578", "NUMBER", "578/DATE"),  # an early year
        ("The abbey stood from 712 until the raid.", "712", "NUMBER", "712/DATE"),
        ("The wall stood for 300 years in all.", "300", "NUMBER", "300/NUMBER"),  # no time preposition
        ("The town grew from 300 to 500 people.", "300", "NUMBER", "300/NUMBER"),  # a range of amounts
        ("Membership grew by 450.", "450", "NUMBER", "450/NUMBER"),  # "by" an amount
        ("It was lost in 300 battles.", "300", "NUMBER", "300/NUMBER"),  # a noun follows
        ("It shaped modern Korean literary tradition.", "Korean", "PLACE", "Korean/NORP"),  # a nationality
        ("They dreamt of a communist society.", "communist", "NORP", None),  # still no name: lower case
        ("It lies in the heart of Spanish colonial history.", "Spanish", "NORP", "Spanish/NORP"),  # not "of" a place
        ("Ships crossed the Caribbean coast at night.", "Caribbean", "PLACE", "Caribbean/PLACE"),  # a place noun
        ("Trade grew on the Atlantic routes.", "Atlantic", "PLACE", "Atlantic/PLACE"),  # no demonym ending
        ("Olives thrive in the Mediterranean climate.", "Mediterranean", "PLACE", "Mediterranean/PLACE"),  # a name
        ("Rome fought the Gauls and the Britons.", "Britons", "PERSON", "Britons/NORP"),  # a plural name: a people
        ("It was directed by Akira Kurosawa in Tokyo.", "Akira Kurosawa", "WORK", "Akira Kurosawa/PERSON"),
        ("Han culture spread along the river.", "Han", "PERSON", None),  # a name modifying a noun
        ("She sang in Peking opera for years.", "Peking", "PLACE", None),  # a place naming another kind
        ("They climbed the Alps mountains.", "Alps", "PLACE", "Alps/PLACE"),
        ("The ratio of Je to the flux is fixed.", "Je", "PERSON", None),  # a symbol
    ],
)
def test_spacy_type_confusions(nlp, text: str, surface: str, label: str, expected: str | None) -> None:
    assert typed(nlp, text, surface, label) == expected


@pytest.mark.parametrize(
    ("text", "surface", "label"),
    [
        ("Ships crossed the Straits of Florida at night.", "Straits", "PLACE"),  # a kind word, then "of" a name
        ("Ships crossed the Gulf of Aden at night.", "Gulf", "PLACE"),
        ("Rivers drain into the Bay of Bengal each year.", "Bengal", "PLACE"),  # "the Kind of" before it
        ("She taught at the University of Chicago for years.", "Chicago", "PLACE"),
        ("Serbia fought in the Balkan Wars of 1912.", "Balkan", "NORP"),  # a nationality before a kind word
        ("The Roman Empire split in two.", "Roman", "NORP"),
    ],
)
def test_fragments_of_kind_names_are_dropped(nlp, text: str, surface: str, label: str) -> None:
    assert typed(nlp, text, surface, label) is None


@pytest.mark.parametrize(
    ("text", "surface", "label", "expected"),
    [
        # a name before the kind word: the phrase describes a part of the place, which is the slot
        ("Ferries sail along the West Coast of Scotland in summer.", "Scotland", "PLACE", "Scotland/PLACE"),
        ("Tibetans live in the Tibet Autonomous Region of China today.", "China", "PLACE", "China/PLACE"),
        ("The speech of King Henry IV of France was short.", "France", "PLACE", "France/PLACE"),  # a title, no kind
        ("It was published by Smith, Elder & Co. of London in 1847.", "London", "PLACE", "London/PLACE"),  # a firm's seat
        ("It starts in the Rocky Mountains of Colorado and flows south.", "Rocky Mountains", "PLACE",
         "Rocky Mountains/PLACE"),  # a whole name, then where it is
    ],
)
def test_places_after_descriptions_of_their_parts_are_kept(nlp, text: str, surface: str, label: str,
                                                           expected: str) -> None:
    assert typed(nlp, text, surface, label) == expected


def test_a_span_inside_a_longer_title_of_the_corpus_is_dropped(nlp) -> None:
    gaz = Gazetteer({}, frozenset(), frozenset({"trinidad and tobago", "greek mythology", "henry iv of france",
                                                "chinese communist party"}))
    assert typed(nlp, "Oil was found in Trinidad and Tobago in 1857.", "Trinidad", "PLACE", gaz) is None
    assert typed(nlp, "Oil was found in Trinidad in 1857.", "Trinidad", "PLACE", gaz) == "Trinidad/PLACE"
    # a lower-case word added ("Greek mythology") is no longer name; "of" joins a place to a description
    assert typed(nlp, "Zeus rules in Greek mythology.", "Greek", "NORP", gaz) == "Greek/NORP"
    # a capitalised article adds no name, and a title that is the span itself is no longer name
    assert typed(nlp, "The Greek mythology of Zeus is old.", "Greek", "NORP", gaz) == "Greek/NORP"
    text = "The Trinidad and Tobago of 1962 was young."
    doc = nlp(text)
    assert not inside_a_title(doc.char_span(4, 4 + len("Trinidad and Tobago")), text, gaz)
    assert typed(nlp, "He met Henry IV of France in Paris.", "France", "PLACE", gaz) == "France/PLACE"
    # a title before a name adds no name ("Lord Byron" is a title of the corpus; "Byron" is the slot)
    lord = Gazetteer({}, frozenset(), frozenset({"lord byron"}))
    assert typed(nlp, "Keats wrote along with Lord Byron and Shelley.", "Byron", "PERSON", lord) == "Byron/PERSON"
    # brackets end a name: the title itself is kept when an acronym follows it
    text = "He chaired the Chinese Communist Party (CCP) for decades."
    doc = nlp(text)
    start = text.index("Chinese")
    span = doc.char_span(start, start + len("Chinese Communist Party"))
    assert not inside_a_title(span, text, gaz)
    assert not inside_a_title(span, text, None)  # no gazetteer, no titles


@pytest.mark.parametrize(
    ("text", "surface", "label", "expected"),
    [
        ("The school taught Sufism to novices.", "Sufism", "PERSON", None),  # a doctrine
        ("Different branches of Judaism kept the texts.", "Judaism", "NORP", "Judaism/NORP"),  # a religion, as typed
        ("Bovids first appeared in the Miocene across Eurasia.", "Miocene", "PERSON", None),  # an epoch
        ("Andorra's Head of Government is elected.", "Head of Government", "ORG", None),  # an office
        ("She won the Kennedy Center Honor in 1981.", "Kennedy Center Honor", "PLACE", None),  # an award
        ("He enrolled at the Zürich Polytechnic in 1896.", "Zürich Polytechnic", "PLACE", "Zürich Polytechnic/ORG"),
        ("The Ministry of Finance set rates in Japan.", "Ministry of Finance", "ORG", "Ministry of Finance/ORG"),
    ],
)
def test_doctrines_epochs_offices_awards_and_institutions(nlp, text: str, surface: str, label: str,
                                                          expected: str | None) -> None:
    assert typed(nlp, text, surface, label) == expected


def test_the_corpus_definition_of_a_religion_wins_over_the_doctrine_rule(nlp) -> None:
    gaz = Gazetteer({"judaism": "NORP"})
    text = "Jacob is the third patriarch in Judaism and a figure of other faiths."
    assert typed(nlp, text, "Judaism", "ORG", gaz) == "Judaism/NORP"
    assert typed(nlp, text, "Judaism", "ORG") is None  # undefined, and typed ORG: a doctrine, dropped


@pytest.mark.parametrize(
    ("text", "surface", "label", "expected"),
    [
        ("Fighting broke out between the British East India Company and France.", "British", "NORP", None),
        ("In 2008, Republican John McCain lost the election.", "Republican", "NORP", "Republican/NORP"),
        ("Karl Barth was a Swiss Reformed theologian.", "Swiss", "NORP", "Swiss/NORP"),
        ("Monaco, officially the Principality of Monaco, is small.", "Principality", "PLACE", None),  # a kind word
        ("The killing of European Jews began in 1941.", "European", "NORP", "European/NORP"),  # a people follows
        ("It was an era of division in China from 907 to 979 CE.", "907", "NUMBER", "907/DATE"),  # an era closes it
        ("Prices rose from 300 to 500 coins.", "300", "NUMBER", "300/NUMBER"),  # no era: an amount
    ],
)
def test_nationalities_before_names_kind_words_and_era_ranges(nlp, text: str, surface: str, label: str,
                                                              expected: str | None) -> None:
    assert typed(nlp, text, surface, label) == expected
