"""Tests of goodhart.results: reading glued values back from notebooks, the scorecard, the map.

The references are independent: notebooks written here by hand in the format MyST-NB's
``glue`` produces (display outputs whose ``metadata.scrapbook.name`` is the key and whose data
carry the ``application/papermill.record/`` prefix), brute-force counts, and the declared
contract between the chapters and the scorecard.
"""

import json
import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goodhart import results as R

BOOK = Path(__file__).resolve().parents[1] / "book"
PREFIX = "application/papermill.record/"

#: The scorecard rows each chapter covers, as the team's glue contract lists them.
CONTRACT = {
    "theorem1": {"thm1", "figA1"},
    "tails": {"defs"},
    "theorem2": {"thm2"},
    "theorem3": {"thm3", "policy-kl", "fn-finite"},
    "corollary": {"cor1"},
    "theorem4": {"thm4"},
    "theorem5": {"thm5", "lem1", "lem2", "figA2", "tabA1"},
    "theorem6": {"thm6"},
    "without_independence": {"fn-light-sum", "fn-dependent", "both-heavy"},
    "best_of_n": {"figB3"},
    "diagnostics": {"diag-calibration"},
    "reward_models": {"fig1", "fig2", "figB1", "figB2", "tab1", "acg-kl"},
    "policy_gradient": {"figB4"},
    "remedies": {"disc-bounded", "disc-klcap", "disc-three-knob", "disc-quantilizer",
                 "disc-bounded-reward", "disc-occupancy", "disc-stronger",
                 "disc-overoptimization"},
}


def glue_output(key, value):
    """A display output as ``myst_nb.glue(key, value, display=False)`` stores it."""
    if isinstance(value, tuple) and value[0] == "md":
        data = {PREFIX + "text/markdown": value[1],
                PREFIX + "text/plain": "<IPython.core.display.Markdown object>"}
    elif isinstance(value, tuple) and value[0] == "plain":
        data = {PREFIX + "text/plain": value[1]}
    else:
        data = {PREFIX + "text/plain": repr(value)}
    return {"output_type": "display_data", "data": data,
            "metadata": {"scrapbook": {"name": key, "mime_prefix": PREFIX}}}


def write_notebook(path, glued, other_outputs=()):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# A chapter"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["x = 1"],
         "outputs": list(other_outputs)},
        {"cell_type": "code", "metadata": {}, "execution_count": 2, "source": ["glue"],
         "outputs": [glue_output(key, value) for key, value in glued.items()]},
    ]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}), encoding="utf-8")


# --- read_glue ------------------------------------------------------------------------------

def test_read_glue_reads_every_kind_of_value(tmp_path):
    path = tmp_path / "c.ipynb"
    stream = {"output_type": "stream", "name": "stdout", "text": ["1.5\n"]}
    write_notebook(path, {
        "thm1-status": ("md", "extends"),
        "thm1-kl": 5.416e-11,
        "thm1-n": 12,
        "thm1-np": ("plain", "np.float64(1.5)"),
        "thm1-word": "a string",
        "thm1-odd": ("plain", "<object at 0x1>"),
    }, other_outputs=[stream])
    assert R.read_glue(path) == {
        "thm1-status": "extends", "thm1-kl": 5.416e-11, "thm1-n": 12, "thm1-np": 1.5,
        "thm1-word": "a string", "thm1-odd": "<object at 0x1>"}


def test_read_glue_joins_text_stored_as_a_list_of_lines(tmp_path):
    path = tmp_path / "c.ipynb"
    write_notebook(path, {"a-status": ("md", "not reproduced")})
    nb = json.loads(path.read_text())
    nb["cells"][2]["outputs"][0]["data"][PREFIX + "text/markdown"] = ["not ", "reproduced\n"]
    path.write_text(json.dumps(nb))
    assert R.read_glue(path) == {"a-status": "not reproduced"}


def test_read_glue_of_a_missing_notebook_is_empty(tmp_path):
    assert R.read_glue(tmp_path / "absent.ipynb") == {}


def test_read_glue_refuses_what_is_not_a_notebook(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json")
    with pytest.raises(ValueError, match="path"):
        R.read_glue(bad)
    bad.write_text(json.dumps({"cells": "x"}))
    with pytest.raises(ValueError, match="path"):
        R.read_glue(bad)


def test_read_glue_reads_a_committed_chapter():
    # every committed chapter is a notebook that read_glue accepts
    for notebook in sorted(BOOK.glob("*.ipynb")):
        assert isinstance(R.read_glue(notebook), dict)


# --- collect ----------------------------------------------------------------------------------

def test_collect_reads_statuses_and_numbers_and_leaves_the_rest_pending(tmp_path):
    write_notebook(tmp_path / "theorem1.ipynb", {
        "thm1-status": ("md", "extends"), "thm1-kl": 5.4e-11, "thm1-mean": 1.5,
        "figA1-mean": 1.5})
    write_notebook(tmp_path / "remedies.ipynb", {
        "disc-bounded-status": ("md", " Corrects "), "disc-bounded-utility": 2e-5,
        "disc-bounded-reward-status": ("md", "reproduced"),
        "disc-bounded-reward-clipped": 0.9})
    card = R.collect(tmp_path)
    assert len(card) == len(R.ROWS)
    assert card["thm1"].status == "extends"
    assert card["thm1"].numbers == {"thm1-kl": 5.4e-11, "thm1-mean": 1.5}
    assert card["thm1"].key_number == 5.4e-11
    assert card["figA1"].status == R.PENDING and card["figA1"].numbers == {"figA1-mean": 1.5}
    # a row id that prefixes another's does not take the other's keys
    assert card["disc-bounded"].status == "corrects"
    assert card["disc-bounded"].numbers == {"disc-bounded-utility": 2e-5}
    assert card["disc-bounded-reward"].numbers == {"disc-bounded-reward-clipped": 0.9}
    counts = card.counts()
    assert counts == {"reproduced": 1, "extends": 1, "corrects": 1, "analogue": 0,
                      "not reproduced": 0, "pending": len(R.ROWS) - 3}
    assert set(card.pending()) == {row.id for row in R.ROWS} - {
        "thm1", "disc-bounded", "disc-bounded-reward"}


def test_collect_refuses_a_status_outside_the_vocabulary(tmp_path):
    write_notebook(tmp_path / "theorem6.ipynb", {"thm6-status": ("md", "sharpened")})
    with pytest.raises(ValueError, match="thm6-status"):
        R.collect(tmp_path)


def test_collect_reports_statuses_glued_for_no_row(tmp_path):
    write_notebook(tmp_path / "theorem6.ipynb", {"thm7-status": ("md", "reproduced")})
    card = R.collect(tmp_path)
    assert card.stray == ("thm7-status",)
    assert R.problems(card, BOOK) == ["thm7-status: a status for no row"]


def test_collect_needs_a_directory(tmp_path):
    with pytest.raises(ValueError, match="book_dir"):
        R.collect(tmp_path / "nowhere")


def test_collect_of_the_committed_book_is_consistent():
    card = R.collect(BOOK)
    assert R.problems(card, BOOK) == []
    assert sum(card.counts().values()) == len(R.ROWS)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([*R.STATUSES, None]), min_size=len(R.ROWS),
                max_size=len(R.ROWS)))
def test_counts_and_summary_agree_with_a_brute_force_count(statuses):
    card = R.Scorecard(tuple(R.Result(row, s or R.PENDING)
                             for row, s in zip(R.ROWS, statuses, strict=True)))
    counts = card.counts()
    for status in R.STATUSES:
        assert counts[status] == statuses.count(status)
    assert counts[R.PENDING] == statuses.count(None)
    numbers = [int(n) for n in re.findall(r"\d+", card.summary())]
    assert sum(numbers) == len(R.ROWS) and 0 not in numbers


# --- completeness check -----------------------------------------------------------------------

def test_check_complete_names_the_pending_rows_and_their_chapters():
    card = R.Scorecard((R.Result(R.ROWS[0], "extends"), R.Result(R.ROWS[1], R.PENDING)))
    card.check_complete([R.ROWS[0].id])
    card.check_complete([])
    with pytest.raises(AssertionError, match=r"1 scorecard rows are pending: thm2 \(theorem2\)"):
        card.check_complete([row.id for row in R.ROWS[:2]])
    with pytest.raises(ValueError, match="required"):
        card.check_complete(["thm9"])


def test_getitem_names_an_unknown_row():
    with pytest.raises(KeyError, match="row_id"):
        R.collect(BOOK)["thm9"]


# --- the declared rows ------------------------------------------------------------------------

def test_rows_are_exactly_the_glue_contract():
    declared = {}
    for row in R.ROWS:
        declared.setdefault(row.chapter, set()).add(row.id)
    assert declared == CONTRACT


def test_rows_are_well_formed():
    ids = [row.id for row in R.ROWS]
    assert len(ids) == len(set(ids))
    for row in R.ROWS:
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]*(-[a-z][a-z0-9]*)*", row.id), row.id
        assert row.part in R.PARTS and row.chapter in R.CHAPTERS
        assert set(row.uses) <= set(ids), row.id
        assert row.name and row.claim and row.source and row.quote
        assert row.key is None or row.key.startswith(f"{row.id}-"), row.id
        assert (row.key is None) == (row.key_label == ""), row.id
        assert row.short or row.id not in R.MAP_LAYOUT
        # formulas are balanced, so each cell renders
        for text in (row.claim, row.quote, row.key_label):
            assert text.count("$") % 2 == 0, (row.id, text)
    assert set(R.MAP_LAYOUT) <= set(ids)


def test_every_errata_label_a_row_names_is_on_the_errata_page():
    labels = set(re.findall(r"^\((errata-[\w-]+)\)=$",
                            (BOOK / "errata.md").read_text(encoding="utf-8"), re.MULTILINE))
    assert {row.erratum for row in R.ROWS if row.erratum} <= labels


def test_problems_finds_each_kind_of_inconsistency(tmp_path):
    bad = [R.Row("a", "A", "A", "c", "s", "q", "nowhere", "theorems", uses=("zz",),
                 erratum="errata-none"),
           R.Row("b", "B", "", "c", "s", "q", "tails", "elsewhere", uses=("c",)),
           R.Row("c", "C", "", "c", "s", "q", "tails", "details", uses=("b",))]
    card = R.Scorecard((R.Result(bad[0], "corrects"), R.Result(bad[1], R.PENDING),
                        R.Result(bad[2], R.PENDING)))
    found = R.problems(card, tmp_path)
    assert "a: unknown chapter 'nowhere'" in found
    assert "b: unknown part 'elsewhere'" in found
    assert "a: uses 'zz', not a row" in found
    assert any("cycle" in p for p in found)
    assert "a: no errata entry 'errata-none'" in found
    card = R.Scorecard(tuple(R.Result(row, "corrects" if row.id == "cor1" else R.PENDING)
                             for row in R.ROWS))  # cor1 names no erratum
    assert R.problems(card, BOOK) == ["cor1: corrects, but names no errata entry"]


# --- glue references of the Markdown pages ----------------------------------------------------

def test_glue_references_and_missing_references(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("a {glue:text}`c.ipynb::thm1-kl:.4g` b {glue:text}`c.ipynb::thm1-kl:.2e` "
                    "{glue:text}`scorecard.ipynb::status-thm1:s` {glue}`c.ipynb::x-y` "
                    "{glue:text}`local-key`")
    assert R.glue_references(page) == [("c.ipynb", "thm1-kl"), ("scorecard.ipynb",
                                       "status-thm1"), ("c.ipynb", "x-y")]
    write_notebook(tmp_path / "c.ipynb", {"thm1-kl": 1.0})
    missing = R.missing_references([page], tmp_path, {"scorecard.ipynb": {"status-thm1"}})
    assert missing == [("p.md", "c.ipynb", "x-y")]
    assert len(R.missing_references([page], tmp_path)) == 2


def test_the_back_pages_paste_only_values_the_scorecard_glues():
    values = R.page_values(R.collect(BOOK))
    for page in ("errata.md", "intro.md", "concordance.md"):
        for doc, key in R.glue_references(BOOK / page):
            if doc == "scorecard.ipynb":
                assert key in values, (page, key)


def test_page_values():
    card = R.Scorecard((R.Result(R.ROWS[0], "analogue"), R.Result(R.ROWS[1], R.PENDING)))
    values = R.page_values(card)
    assert values["status-thm1"] == "≈ analogue" and values["status-thm2"] == "… pending"
    assert values["n-analogue"] == 1 and values["n-not-reproduced"] == 0
    assert values["n-rows"] == 2
    assert values["summary"] == "1 replaced by an analogue and 1 still pending"


# --- Markdown of the scorecard ----------------------------------------------------------------

def test_part_markdown_quotes_a_corrected_source_and_links_its_erratum(tmp_path):
    write_notebook(tmp_path / "theorem1.ipynb", {})
    results = []
    for row in R.ROWS:
        if row.id == "figA1":
            results.append(R.Result(row, "corrects", {"figA1-mean": 1.5}))
        elif row.id == "thm1":
            results.append(R.Result(row, "extends", {"thm1-kl": 5.416e-11, "thm1-x": 3}))
        else:
            results.append(R.Result(row, R.PENDING))
    text = R.part_markdown(R.Scorecard(tuple(results)), "details", tmp_path, number=2)
    assert text.startswith("````{table} Scorecard, part 2:")
    assert ":name: tab-scorecard-details" in text
    row = next(r for r in R.ROWS if r.id == "figA1")
    assert f"the source: “{row.quote}” ({{ref}}`erratum <errata-figure-a1>`)" in text
    assert "{bdg-danger}`✎ corrects`" in text and "**1.5**, " in text
    assert "{doc}`Figure A.1 <theorem1>`" in text
    # a chapter whose notebook does not exist yet is named, not linked
    assert "*without independence* (chapter not written yet)" in text
    assert text.count("````{dropdown}") == sum(r.part == "details" for r in R.ROWS)
    theorems = R.part_markdown(R.Scorecard(tuple(results)), "theorems", tmp_path)
    assert "**5.416e-11**" in theorems and "`thm1-x` = 3" in theorems
    assert "{table}" not in theorems
    with pytest.raises(ValueError, match="part"):
        R.part_markdown(R.Scorecard(tuple(results)), "appendix")


def test_counts_markdown_shows_pending_only_when_there_is_some():
    done = R.Scorecard((R.Result(R.ROWS[0], "reproduced"),))
    assert "pending" not in R.counts_markdown(done)
    assert "{bdg-success}`✓ reproduced: 1`" in R.counts_markdown(done)


def test_every_status_has_a_distinct_style():
    styles = [R.STYLES[s] for s in (*R.STATUSES, R.PENDING)]
    for attribute in ("icon", "color", "badge"):
        values = [getattr(s, attribute) for s in styles]
        assert len(set(values)) == len(values), attribute
    hatches = [s.hatch for s in styles if s.word != R.PENDING]
    assert len(set(hatches)) == len(hatches)


# --- the map ----------------------------------------------------------------------------------

def test_map_edges_leave_out_the_implied_arrows():
    edges = R.map_edges()
    assert ("lem2", "thm5") in edges and ("lem1", "lem2") in edges
    assert ("lem1", "thm5") not in edges  # implied by lem1 -> lem2 -> thm5
    assert ("thm1", "acg-kl") not in edges and ("thm3", "acg-kl") in edges
    assert all(a in R.MAP_LAYOUT and b in R.MAP_LAYOUT for a, b in edges)
    # brute force: an edge is kept exactly when no other path joins its ends
    uses = {row.id: set(row.uses) for row in R.ROWS}

    def paths(a, b, first):
        return any(c == b or paths(c, b, False) for c in uses[a] if not (first and c == b))

    for row in R.ROWS:
        if row.id not in R.MAP_LAYOUT:
            continue
        for used in row.uses:
            if used in R.MAP_LAYOUT:
                assert ((used, row.id) in edges) == (not paths(row.id, used, True))


def test_draw_map_draws_a_box_a_result_and_an_arrow_a_use(tmp_path):
    write_notebook(tmp_path / "theorem1.ipynb", {"thm1-status": ("md", "corrects")})
    card = R.collect(tmp_path)
    fig = R.draw_map(card)
    ax = fig.axes[0]
    assert len(ax.patches) == len(R.MAP_LAYOUT) + len(R.map_edges())
    texts = [t.get_text() for t in ax.texts]
    assert "✎ corrects" in texts and texts.count("… pending") == len(R.MAP_LAYOUT) - 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"… pending: {len(R.ROWS) - 1}" in legend and "✎ corrects: 1" in legend
    assert fig.get_size_inches().tolist() == [7.0, 5.0]
    plt.close(fig)
    small = R.draw_map(card, legend=False)
    assert small.axes[0].get_legend() is None
    plt.close(small)


def test_draw_map_refuses_bad_input():
    with pytest.raises(ValueError, match="card"):
        R.draw_map({"thm1": "extends"})
    with pytest.raises(ValueError, match="layout"):
        R.draw_map(R.collect(BOOK), layout={"thm9": (0, 0)})


def test_the_sites_badges_have_the_colours_of_the_map():
    css = (BOOK / "_ext" / "static" / "book.css").read_text()
    for style in R.STYLES.values():
        if style.word == R.PENDING:
            continue
        role = style.badge.removeprefix("bdg-")
        rule = re.search(rf"\.sd-bg-{role} \{{ background-color: (#\w+) !important; "
                         rf"color: (#\w+) !important; \}}", css)
        assert rule, f"no badge colour for {style.word}"
        text = {"#000": "black", "#fff": "white"}[rule[2]]
        assert (rule[1].upper(), text) == (style.color.upper(), R._text_color(style.color))


def test_record_glues_exactly_as_myst_nb_does(monkeypatch):
    """record writes MyST-NB's glue out (its import costs 1.7 s): the same display call."""
    import IPython.display
    from IPython.display import Markdown
    from myst_nb.ext import glue as myst_glue

    calls = {"ours": [], "myst_nb": []}

    def shown(into):
        return lambda *args, **kwargs: calls[into].append((args, kwargs))

    for value in (Markdown("extends"), 5.43e-11, 120000.0):
        monkeypatch.setattr(IPython.display, "display", shown("ours"))
        R._glue("a-key", value)
        monkeypatch.setattr(myst_glue, "ipy_display", shown("myst_nb"))
        myst_glue.glue("a-key", value, display=False)
    assert calls["ours"] == calls["myst_nb"] and len(calls["ours"]) == 3


def test_record_rounds_numbers_to_their_digits_and_keeps_text(monkeypatch):
    glued = {}
    monkeypatch.setattr(R, "_glue", lambda key, value: glued.update({key: value}))
    out = R.record({"a-status": "extends", "a-kl": 5.4321e-11, "a-n": (123456.0, 2)},
                         digits=3)
    assert out == {"a-status": "extends", "a-kl": 5.43e-11, "a-n": 120000.0}
    assert glued["a-status"].data == "extends" and glued["a-kl"] == 5.43e-11
    with pytest.raises(ValueError, match="a-x"):
        R.record({"a-x": float("nan")})
    with pytest.raises(ValueError, match="digits"):
        R.record({"a-x": (1.0, 0)})
