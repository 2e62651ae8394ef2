"""The one vocabulary table (locator/vocabulary.py): fixed service bits, labels that agree
with the English catalogue, spellings that name one code each."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from locator import vocabulary as v
from locator.imports import columns

CATALOGUE = (Path(__file__).resolve().parents[2]
             / "locator/translations/en/LC_MESSAGES/messages.po")

#: The bit of every service that exists today. A service added later takes a new bit; an
#: existing one never moves (the nearest index's masks and any cached mask would change
#: meaning).
PINNED_BITS = {
    "drinking_water": 0, "hot_water": 1, "heating": 2, "air_conditioning": 3, "rest_area": 4,
    "toilet": 5, "phone_charging": 6, "ebike_charging": 7, "microwave": 8, "first_aid_kit": 9,
    "aed": 10, "wifi": 11, "repair_tools": 12, "reading": 13, "nursing_room": 14, "fridge": 15,
    "changing_table": 16, "lockable_door": 17,
}
TABLES = {"kind": v.KIND_TERMS, "status": v.STATUS_TERMS, "service": v.SERVICE_TERMS}


def test_no_existing_service_changes_bit():
    bits = {t.code: t.bit for t in v.SERVICE_TERMS}
    assert {code: bits.get(code) for code in PINNED_BITS} == PINNED_BITS
    assert all(v.SERVICE_BIT[c] == 1 << b for c, b in PINNED_BITS.items())


def test_bits_are_distinct_and_fit_the_index_mask():
    bits = [t.bit for t in v.SERVICE_TERMS]
    assert len(set(bits)) == len(bits) and min(bits) >= 0 and max(bits) < 63


@pytest.mark.parametrize("name", TABLES)
def test_codes_labels_and_spellings_name_one_term_each(name):
    terms = TABLES[name]
    for field in ("code", "zh", "en"):
        values = [getattr(t, field) for t in terms]
        assert len(set(values)) == len(values), (name, field)
    spellings = [s for t in terms
                 for s in {x.casefold().replace(" ", "") for x in (t.zh, t.code, *t.aliases)}]
    assert len(set(spellings)) == len(spellings)
    assert set(v.accepted(terms).values()) == {t.code for t in terms}


def test_service_labels_agree_with_the_english_catalogue():
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f)
    assert {t.zh: catalogue[t.zh].string for t in v.SERVICE_TERMS} == \
        {t.zh: t.en for t in v.SERVICE_TERMS}


def test_the_import_tables_are_read_from_the_vocabulary():
    assert columns.SERVICE_LABELS == {t.zh: t.code for t in v.SERVICE_TERMS}
    assert columns.KIND_LABELS["工会驿站"] == "station"
    assert columns.STATUS_NAMES == {"active": "正常", "temporarily_closed": "暂停",
                                    "removed": "撤销"}
