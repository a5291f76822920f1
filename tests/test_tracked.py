"""The piece table: edits from successive passes compose into one non-overlapping trail."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from normalize.model import Edit, replay
from normalize.tracked import TrackedText


def test_single_pass_edits_map_to_input():
    tt = TrackedText("abc def ghi")
    tt.apply([Edit(0, 3, "ABC", "r"), Edit(7, 7, "!", "r")], "p")
    assert tt.text == "ABC def! ghi"
    assert [(r.start, r.end, r.before, r.after) for r in tt.records()] == [(0, 3, "abc", "ABC"), (7, 7, "", "!")]


def test_later_edit_inside_earlier_replacement_merges():
    tt = TrackedText("xx â€œ yy")
    tt.apply([Edit(3, 6, "“", "mojibake")], "encoding")
    assert tt.text == "xx “ yy"
    tt.apply([Edit(2, 4, "”", "quote")], "punctuation")
    recs = tt.records()
    assert len(recs) == 1
    assert (recs[0].before, recs[0].after, recs[0].pass_name) == (" â€œ", "”", "encoding+punctuation")
    assert replay("xx â€œ yy", recs) == tt.text


def test_reverted_change_leaves_no_record():
    tt = TrackedText("abc")
    tt.apply([Edit(1, 2, "X", "r")], "p")
    tt.apply([Edit(1, 2, "b", "r")], "q")
    assert tt.text == "abc" and tt.records() == []


def test_mapping_between_input_and_current():
    tt = TrackedText("0123456789")
    tt.apply([Edit(2, 4, "", "del"), Edit(6, 6, "++", "ins")], "p")
    assert tt.text == "0145++6789"
    assert tt.to_original(0, 2) == (0, 2)
    assert tt.to_current(7, 10) == (7, 10)
    assert tt.to_current(4, 6) == (2, 4)


@st.composite
def _edit_rounds(draw):
    text = draw(st.text(alphabet="abc \n", max_size=30))
    rounds = []
    cur = text
    for _ in range(draw(st.integers(1, 4))):
        cuts = sorted(draw(st.lists(st.integers(0, len(cur)), max_size=6)))
        edits, last = [], -1
        for a, b in zip(cuts[::2], cuts[1::2], strict=False):
            if a < last or (a == b == last):
                continue
            edits.append(Edit(a, b, draw(st.text(alphabet="XYZ", max_size=3)), "r"))
            last = b
        rounds.append(edits)
        out, pos = [], 0
        for e in edits:
            out += [cur[pos : e.start], e.after]
            pos = e.end
        cur = "".join(out) + cur[pos:]
    return text, rounds, cur


@settings(max_examples=500, deadline=None)
@given(_edit_rounds())
def test_any_sequence_of_rounds_replays(case):
    text, rounds, expected = case
    tt = TrackedText(text)
    for i, edits in enumerate(rounds):
        tt.apply(edits, f"p{i}")
    assert tt.text == expected
    assert replay(text, tt.records()) == expected
