"""The book's presentation layer: palette roles, figure style and the table helper."""

import math

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from docutils import nodes
from docutils.core import publish_doctree
from hypothesis import given
from hypothesis import strategies as st
from myst_parser.parsers.docutils_ import Parser

from goodhart import plotting
from goodhart.plotting import (
    COLORS,
    CYCLE,
    HATCHES,
    OKABE_ITO,
    STYLES,
    figsize,
    style,
    table,
    use_book_style,
)

ROLES = ["utility", "error", "proxy", "base", "kl", "heavy", "light"]


# --- palette -------------------------------------------------------------------------------

def test_every_role_has_a_colour_a_line_style_and_a_marker():
    assert sorted(STYLES) == sorted(ROLES) == sorted(COLORS) == sorted(HATCHES)
    for role in ROLES:
        assert {"color", "linestyle", "marker"} <= set(STYLES[role])
        assert COLORS[role] == STYLES[role]["color"]


@pytest.mark.parametrize("cue", ["color", "linestyle", "marker"])
def test_roles_differ_in_each_cue(cue):
    """Each cue alone tells the roles apart: colour, and, in greyscale, line and marker."""
    values = [str(STYLES[role][cue]) for role in ROLES]
    assert len(set(values)) == len(values), values


def test_colours_are_okabe_ito():
    assert set(COLORS.values()) <= set(OKABE_ITO.values())
    assert set(CYCLE) <= set(OKABE_ITO.values())
    assert OKABE_ITO["yellow"] not in CYCLE  # too pale on white
    assert len(set(CYCLE)) == len(CYCLE) == len(plotting.CYCLE_LINESTYLES)


def _srgb_to_linear(hex_colour):
    rgb = np.array(mpl.colors.to_rgb(hex_colour))
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def test_role_colours_stay_apart_under_deuteranopia():
    """Machado et al. (2009) deuteranopia (severity 1): no two role colours collapse."""
    machado = np.array([[0.367322, 0.860646, -0.227968],
                        [0.280085, 0.672501, 0.047413],
                        [-0.011820, 0.042940, 0.968881]])
    seen = {role: machado @ _srgb_to_linear(COLORS[role]) for role in ROLES}
    for i, a in enumerate(ROLES):
        for b in ROLES[i + 1:]:
            assert np.linalg.norm(seen[a] - seen[b]) > 0.03, (a, b)


def test_style_copies_and_changes():
    changed = style("base", marker="", label="base policy")
    assert changed["marker"] == "" and changed["label"] == "base policy"
    assert STYLES["base"]["marker"] == "x" and "label" not in STYLES["base"]
    with pytest.raises(ValueError, match="role"):
        style("reward")


def test_styles_plot_and_hatches_fill():
    use_book_style()
    fig, ax = plt.subplots()
    x = np.linspace(0, 1, 50)
    for offset, role in enumerate(ROLES):
        (line,) = ax.plot(x, x + offset, **STYLES[role], label=role)
        assert line.get_color() == COLORS[role]
    ax.bar([0, 1], [1, 2], color=COLORS["utility"], hatch=HATCHES["error"])
    fig.canvas.draw()


# --- figure style --------------------------------------------------------------------------

def test_figsize():
    assert figsize() == (7.0, 4.2)
    assert figsize(2) == (7.0, 2.4)
    assert figsize(2, 2, aspect=0.8) == (7.0, 5.6)
    for bad in ({"ncols": 4}, {"ncols": 0}, {"nrows": 0}, {"aspect": -1}, {"width": 9}):
        with pytest.raises(ValueError):
            figsize(**bad)


def test_use_book_style_sets_resolution_and_fonts():
    use_book_style()
    assert mpl.rcParams["figure.dpi"] == mpl.rcParams["savefig.dpi"] == plotting.DPI <= 150
    assert tuple(mpl.rcParams["figure.figsize"]) == figsize()
    sizes = [mpl.rcParams[key] for key in ("xtick.labelsize", "ytick.labelsize",
                                             "legend.fontsize", "font.size")]
    assert min(sizes) == plotting.SMALLEST_FONT


@pytest.mark.parametrize("ncols", [1, 2, 3])
def test_figure_text_is_at_least_11_px_in_the_column(ncols, tmp_path):
    """Draw a typical figure, save it as the inline backend does (tight bounding box), and
    apply the rule of the module docstring to every piece of text in it."""
    use_book_style()
    fig, axes = plt.subplots(1, ncols, figsize=figsize(ncols), squeeze=False)
    x = np.logspace(0, 12, 100)
    for ax in axes.flat:
        ax.loglog(x, x**0.5, **style("proxy", label="proxy $U$"))
        ax.loglog(x, x**0.25, **style("utility", label="utility $V$"))
        ax.set(xlabel="threshold $t$", ylabel="mean", title="a panel")
        ax.legend()
    fig.suptitle("A figure")
    path = tmp_path / "figure.png"
    fig.savefig(path, bbox_inches="tight")
    width_px = plt.imread(path).shape[1]
    width_in = width_px / plotting.DPI
    assert width_in <= plotting.MAX_WIDTH
    scale = min(plotting.DPI / 72, plotting.COLUMN_PX / (72 * width_in))
    texts = [t for t in fig.findobj(mpl.text.Text) if t.get_visible() and t.get_text()]
    assert texts
    smallest = min(t.get_fontsize() for t in texts)
    assert smallest * scale >= 11, (smallest, width_in)


# --- tables --------------------------------------------------------------------------------

def _doctree(markdown):
    return publish_doctree(markdown, parser=Parser(),
                           settings_overrides={"myst_enable_extensions": ["dollarmath"],
                                               "report_level": 2, "halt_level": 2})


def test_markdown_is_a_real_table_with_aligned_columns():
    t = table([["normal", 1, 0.5], ["Student-t (3)", 10, 1e-7]],
              headers=["law", "draws", "mean"])
    lines = t.to_markdown().splitlines()
    assert lines[0] == "| law | draws | mean |"
    assert lines[1] == "|:---|---:|---:|"
    assert lines[3] == "| Student-t (3) | 10 | 1e-07 |"
    doctree = _doctree(t.to_markdown())
    (tab,) = doctree.findall(nodes.table)
    assert len(list(tab.findall(nodes.row))) == 3
    assert [e.astext() for e in tab.findall(nodes.entry)][:3] == ["law", "draws", "mean"]


def test_captioned_table_is_a_table_directive_with_a_title_and_a_label():
    t = table([[1, 2.0]], headers=["n", "mean of V"], caption="The means.", name="tab-means")
    markdown = t._repr_markdown_()
    assert markdown.startswith("````{table} The means.\n:name: tab-means\n")
    doctree = _doctree(markdown)
    (tab,) = doctree.findall(nodes.table)
    assert tab.next_node(nodes.title).astext() == "The means."
    assert "tab-means" in tab["ids"]


def test_formats_per_column():
    rows = [[1234567, 0.123456, 0.5, "a"]]
    headers = ["draws", "mean", "share", "name"]
    by_list = table(rows, headers, formats=["{:,d}", ".3f", "{:.0%}", None])
    by_map = table(rows, headers, formats={"draws": "{:,d}", "mean": ".3f", "share": "{:.0%}"})
    assert by_list.cells == by_map.cells == (("1,234,567", "0.123", "50%", "a"),)
    assert table(rows, headers, formats=lambda v: f"<{v}>").cells[0][:2] == ("<1234567>",
                                                                               "<0.123456>")
    # text columns ignore number formats
    assert table([["x"]], ["name"], formats=".2f").cells == (("x",),)


def test_default_formats_and_special_values():
    t = table([[3, 2.0 / 3.0, None, True, math.nan, np.float64(1e-12), np.int64(7)]],
              headers=list("abcdefg"))
    assert t.cells[0] == ("3", "0.6667", "", "yes", "NaN", "1e-12", "7")
    assert t.numeric == (True, True, False, False, True, True, True)


def test_infinities_are_written_as_symbols_whatever_the_format():
    import sympy

    t = table([[math.inf, -np.inf, sympy.oo, -sympy.oo]], headers=list("abcd"), formats=".3g")
    assert t.cells[0] == ("∞", "−∞", "∞", "−∞")


def test_pipes_and_newlines_in_cells_are_escaped():
    t = table([["a|b", "line\nbreak"]], headers=["x", "y"])
    assert "| a\\|b | line break |" in t.to_markdown()
    assert len(list(_doctree(t.to_markdown()).findall(nodes.entry))) == 4


def test_plain_text_is_the_table_when_it_fits():
    t = table([["normal", 1.5], ["Student-t (3)", 12.25]], headers=["law", "mean"])
    assert repr(t) == (
        "law             mean\n"
        "-------------  -----\n"
        "normal           1.5\n"
        "Student-t (3)  12.25"
    )
    assert str(t) == repr(t)


def test_plain_text_is_a_summary_when_too_wide():
    headers = [f"a long column header number {i}" for i in range(4)]
    t = table([[1, 2, 3, 4]], headers=headers, caption="A table far too wide for a line.")
    assert repr(t) == "<table: 1 row x 4 columns: A table far too wide for a line.>"
    long_caption = table([[1] * 4], headers=headers, caption="word " * 40)
    assert len(repr(long_caption)) <= 78 and repr(long_caption).endswith("...>")


def test_html_for_jupyter():
    t = table([["<b>", 1.0]], headers=["name", "value"], caption="Caption & more")
    out = t._repr_html_()
    assert out.startswith("<table><caption>Caption &amp; more</caption>")
    assert "&lt;b&gt;" in out and 'style="text-align: right">1</td>' in out


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rows": [[1, 2]], "headers": ["a"]}, "row 0 has 2 values"),
        ({"rows": [[1]], "headers": [""]}, "headers"),
        ({"rows": [[1]], "headers": "a"}, "headers"),
        ({"rows": 5, "headers": ["a"]}, "rows"),
        ({"rows": [[1]], "headers": ["a"], "formats": [".2f", ".3f"]}, "formats"),
        ({"rows": [[1]], "headers": ["a"], "formats": {"b": ".2f"}}, "formats"),
        ({"rows": [[1]], "headers": ["a"], "name": "tab-a"}, "caption"),
        ({"rows": [[1]], "headers": ["a"], "caption": " "}, "caption"),
    ],
)
def test_bad_input_names_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        table(**kwargs)


cell = st.one_of(
    st.none(),
    st.integers(-10**15, 10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec="ascii", exclude_characters="\r"), max_size=30),
)


@given(data=st.data(), ncols=st.integers(1, 6), nrows=st.integers(0, 45))
def test_any_table_renders_and_its_plain_text_is_short_and_stable(data, ncols, nrows):
    rows = [data.draw(st.lists(cell, min_size=ncols, max_size=ncols)) for _ in range(nrows)]
    headers = [f"column {i}" for i in range(ncols)]
    t = table(rows, headers, caption="A caption.")
    text = repr(t)
    assert text == repr(table(rows, headers, caption="A caption."))
    assert all(len(line) <= 78 for line in text.splitlines())
    assert "0x" not in text or any("0x" in str(v) for row in rows for v in row)
    markdown = t.to_markdown()
    assert len(markdown.splitlines()) == nrows + 5  # fence, blank, header, rule, rows, fence
    (tab,) = _doctree(markdown).findall(nodes.table)
    assert len(list(tab.findall(nodes.row))) == nrows + 1


def test_below_writes_the_bound_for_rounding_noise_and_the_spec_otherwise():
    show = plotting.below("1e-9", ".1e")
    assert [show(v) for v in (0.0, 9.9e-10, -5e-10, 1e-9, 2.5e-3)] == [
        "< 1e-9", "< 1e-9", "< 1e-9", "1.0e-09", "2.5e-03"]
    cells = plotting.table([[1e-15], [0.5]], headers=["gap"], formats=[show]).cells
    assert cells == (("< 1e-9",), ("5.0e-01",))
    for bound in ("", "zero", "-1e-9", 1e-9):
        with pytest.raises(ValueError, match="bound"):
            plotting.below(bound, ".1e")
    with pytest.raises(ValueError, match="spec"):
        plotting.below("1e-9", "no spec")
