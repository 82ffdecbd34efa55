"""The book's presentation layer: one palette, one figure style, one table helper.

Colours name roles, not hues. Each quantity has one colour in every chapter, from the
Okabe-Ito palette (distinguishable under the common colour-vision deficiencies), and a second
cue, a line style and a marker, so that a figure also reads in greyscale:

=============  ======================  ==============  ============  ==============
role           what                    colour          line          marker
=============  ======================  ==============  ============  ==============
``utility``    true utility ``V``      bluish green    solid         circle ``o``
``error``      error ``X``             vermillion      dashed        square ``s``
``proxy``      proxy ``U = X + V``     blue            dash-dot      triangle ``^``
``base``       base policy, reference  black           dotted        cross ``x``
``kl``         KL divergence           reddish purple  dash-dot-dot  triangle ``v``
``heavy``      heavy-tailed laws       orange          long dash     plus ``P``
``light``      light-tailed laws       sky blue        short dash    diamond ``D``
=============  ======================  ==============  ============  ==============

``STYLES[role]`` holds all of it for ``plot``: ``ax.plot(x, y, **STYLES["utility"])``;
``style(role, **changes)`` returns a copy with changes (``style("base", marker="")`` for an
``axhline``, ``style("error", markevery=None)`` to mark every point of a sparse curve).
``COLORS[role]`` is the colour alone (for ``bar``, ``scatter``, ``fill_between``), and
``HATCHES[role]`` a hatch pattern, the second cue for bars and areas. Curves that are members
of a family rather than roles (several laws, several values of ``beta``) take the colours of
``CYCLE`` in order, which ``use_book_style()`` also pairs with line styles in matplotlib's
property cycle; do not mix family curves and role curves in one panel.

Figures. ``use_book_style()`` (call it once, after importing ``matplotlib.pyplot``) sets the
fonts, the resolution and the layout. The rule it is built on: the site's text column is
676 px wide in a 1280 px window, and an image wider than the column is scaled down to it, so
text of ``f`` points in a figure ``w`` inches wide shows at ``f * 676 / (72 * w)`` px. The
smallest text here is 10 pt (tick labels, legends); it stays at 11 px or more while the saved
figure (after ``bbox_inches="tight"``) is at most ``MAX_WIDTH`` = 8.5 inches wide. So: make
figures with ``figsize(ncols, nrows)`` (7 inches wide, the column), put at most three panels
in a row, keep legends inside the figure, and never shrink the fonts. PNGs are drawn at 150
dpi: 1050 px for a full-width figure, sharp when the reader enlarges it (a click on any figure
of the site shows it at full size).

Tables. ``table(rows, headers, ...)`` returns a :class:`Table`, which a notebook displays as a
real table: MyST-NB renders its Markdown as a (numbered, if captioned) table in the site and
in the PDF, Jupyter shows its HTML, and its plain-text form, which nbval compares, is short
and deterministic.

Chapters' figures. ``goodhart.plotting.<chapter>`` (for example
:mod:`goodhart.plotting.best_of_n`) draws the figures of one chapter from values the chapter
has computed and shows: the chapter keeps the numerics in view, the module the matplotlib
detail. A figure function takes the computed arrays (never laws to compute from) and returns
the ``Figure``.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib as mpl

# The Okabe-Ito palette (Okabe and Ito, "Color universal design", 2008).
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

DASH_DOT_DOT = (0, (5, 1.5, 1, 1.5, 1, 1.5))
LONG_DASH = (0, (8, 2))
SHORT_DASH = (0, (2.5, 1.5))

#: Every role's colour, line style and marker, ready for ``ax.plot(x, y, **STYLES[role])``.
#: Markers are spaced along the curve (``markevery=0.1``: a tenth of the axes' diagonal).
STYLES = {
    "utility": {"color": OKABE_ITO["bluish green"], "linestyle": "-", "marker": "o"},
    "error": {"color": OKABE_ITO["vermillion"], "linestyle": "--", "marker": "s"},
    "proxy": {"color": OKABE_ITO["blue"], "linestyle": "-.", "marker": "^"},
    "base": {"color": OKABE_ITO["black"], "linestyle": ":", "marker": "x"},
    "kl": {"color": OKABE_ITO["reddish purple"], "linestyle": DASH_DOT_DOT, "marker": "v"},
    "heavy": {"color": OKABE_ITO["orange"], "linestyle": LONG_DASH, "marker": "P"},
    "light": {"color": OKABE_ITO["sky blue"], "linestyle": SHORT_DASH, "marker": "D"},
}
for _style in STYLES.values():
    _style.update(markevery=0.1, markersize=5)

#: The colour of each role alone.
COLORS = {role: entry["color"] for role, entry in STYLES.items()}

#: A hatch for each role: the second cue for bars and filled areas (``hatch=HATCHES[role]``).
HATCHES = {
    "utility": "",
    "error": "//",
    "proxy": "\\\\",
    "base": "..",
    "kl": "xx",
    "heavy": "++",
    "light": "--",
}

#: Colours for the members of a family of curves (not roles), in order; yellow is left out,
#: too pale on white.
CYCLE = [OKABE_ITO[name] for name in
         ("blue", "vermillion", "bluish green", "reddish purple", "orange", "sky blue", "black")]
#: The line styles that ``use_book_style()`` pairs with ``CYCLE``.
CYCLE_LINESTYLES = ["-", "--", "-.", ":", LONG_DASH, DASH_DOT_DOT, SHORT_DASH]

#: Width of the site's text column in a 1280 px window, in CSS pixels.
COLUMN_PX = 676
#: Default figure width in inches: the text column.
WIDTH = 7.0
#: Widest saved figure (inches) whose 10 pt text still shows at 11 px in the column.
MAX_WIDTH = 8.5
#: Resolution of the PNGs, in dots per inch.
DPI = 150
#: Smallest font size used by the style, in points.
SMALLEST_FONT = 10


def style(role, **changes):
    """The plotting keywords of a role, with changes.

    Parameters
    ----------
    role : str
        One of the keys of ``STYLES``: ``"utility"``, ``"error"``, ``"proxy"``, ``"base"``,
        ``"kl"``, ``"heavy"``, ``"light"``.
    **changes
        Keywords that replace or extend the role's (``label="E[V]"``, ``marker=""``,
        ``markevery=None``).

    Returns
    -------
    dict
        A new dictionary, to pass as ``**style(...)`` to ``plot``.

    Examples
    --------
    >>> style("utility")["color"]
    '#009E73'
    >>> style("base", marker="")["marker"]
    ''
    """
    if role not in STYLES:
        raise ValueError(f"role must be one of {sorted(STYLES)}, not {role!r}")
    return {**STYLES[role], **changes}


def figsize(ncols=1, nrows=1, *, aspect=0.6, width=WIDTH):
    """The size of a figure of ``nrows`` by ``ncols`` panels, in inches.

    The width is the text column's (7 inches) whatever the number of panels; each panel's
    height is ``aspect`` times its width, and at least 2.4 inches.

    Parameters
    ----------
    ncols : int
        Panels a row: 1, 2 or 3 (more would make the text too small to read).
    nrows : int
        Rows of panels.
    aspect : float
        Height of a panel over its width.
    width : float
        Width of the figure in inches, at most ``MAX_WIDTH``.

    Returns
    -------
    tuple of float
        ``(width, height)``, for ``plt.subplots(nrows, ncols, figsize=...)``.

    Examples
    --------
    >>> figsize()
    (7.0, 4.2)
    >>> figsize(3)
    (7.0, 2.4)
    >>> figsize(2, 2)
    (7.0, 4.8)
    """
    if not (isinstance(ncols, numbers.Integral) and 1 <= ncols <= 3):
        raise ValueError(f"ncols must be 1, 2 or 3 panels a row, not {ncols!r}")
    if not (isinstance(nrows, numbers.Integral) and nrows >= 1):
        raise ValueError(f"nrows must be a positive integer, not {nrows!r}")
    if not (_is_real(aspect) and 0 < aspect < 10):
        raise ValueError(f"aspect must be a positive ratio, not {aspect!r}")
    if not (_is_real(width) and 0 < width <= MAX_WIDTH):
        raise ValueError(f"width must be in (0, {MAX_WIDTH}] inches, not {width!r}")
    panel_height = max(aspect * width / ncols, 2.4)
    return (round(float(width), 3), round(nrows * panel_height, 3))


def _is_real(value):
    """A real number, not a boolean (NaN compares False afterwards, and so is refused)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def use_book_style():
    """Set matplotlib's rcParams to the book's figure style.

    Fonts: 11 pt for labels and titles, 10 pt for tick labels and legends, so that every text
    of a figure at most ``MAX_WIDTH`` inches wide shows at 11 px or more in the site's column
    (see the module's docstring for the rule). Figures 7 by 4.2 inches by default, laid out
    by matplotlib's constrained layout, drawn (inline and saved) at 150 dpi. Family curves
    cycle through ``CYCLE`` with a line style each; images use the ``cividis`` colour map,
    readable under colour-vision deficiencies.

    Call it once, after ``import matplotlib.pyplot``.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> use_book_style()
    >>> mpl.rcParams["figure.dpi"], mpl.rcParams["xtick.labelsize"]
    (150.0, 10.0)
    """
    mpl.rcParams.update(
        {
            "figure.dpi": DPI,
            "savefig.dpi": DPI,
            "figure.figsize": figsize(),
            "figure.constrained_layout.use": True,
            "font.size": 11,
            "axes.labelsize": 11,
            "axes.titlesize": 11,
            "figure.titlesize": 12,
            "xtick.labelsize": SMALLEST_FONT,
            "ytick.labelsize": SMALLEST_FONT,
            "legend.fontsize": SMALLEST_FONT,
            "legend.title_fontsize": SMALLEST_FONT,
            "legend.frameon": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": mpl.cycler(color=CYCLE) + mpl.cycler(linestyle=CYCLE_LINESTYLES),
            "image.cmap": "cividis",
            "lines.linewidth": 2.0,
            "lines.markersize": 5,
            "hatch.linewidth": 0.8,
        }
    )


def _format_cell(value, spec) -> str:
    """One cell as text: ``spec`` a format spec (``".4g"``, ``"{:.2%}"``) or a callable.

    Infinities are written as the reader writes them, ``∞`` and ``−∞``, whatever the spec.
    """
    if value is None:
        return ""
    if _is_infinite(value):
        return "∞" if value > 0 else "−∞"
    if callable(spec):
        text = spec(value)
    elif spec is not None and "{" in spec:
        text = spec.format(value)
    elif spec is not None:
        text = format(value, spec)
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, numbers.Integral):
        text = f"{value:d}"
    elif isinstance(value, numbers.Real):
        text = "NaN" if math.isnan(value) else f"{value:.4g}"
    else:
        text = str(value)
    return " ".join(str(text).split())


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_infinite(value) -> bool:
    """An infinite real number: a float, numpy's or sympy's ``oo``."""
    try:
        return _is_number(value) and math.isinf(float(value))
    except TypeError:  # a complex number
        return False


@dataclass(frozen=True)
class Table:
    """A table for a notebook cell to display, made by :func:`table`.

    Attributes
    ----------
    headers : tuple of str
        The column headers, in words.
    cells : tuple of tuple of str
        The formatted cells, one tuple a row.
    numeric : tuple of bool
        For each column, whether it holds numbers (right-aligned).
    caption : str or None
        The caption; a captioned table is numbered in the book.
    name : str or None
        The label to refer to it by, ``{numref}`name```.
    """

    headers: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    caption: str | None = None
    name: str | None = None

    #: Longest line of the plain-text form.
    LINE_WIDTH = 78

    def to_markdown(self):
        """The table as MyST Markdown: a ``{table}`` directive if captioned, else a pipe table.

        Examples
        --------
        >>> t = table([[1, 0.5]], headers=["draws", "mean"])
        >>> print(t.to_markdown())
        | draws | mean |
        |---:|---:|
        | 1 | 0.5 |
        """

        def row(cells):
            return "| " + " | ".join(cell.replace("|", r"\|") for cell in cells) + " |"

        rule = "|" + "|".join("---:" if right else ":---" for right in self.numeric) + "|"
        lines = [row(self.headers), rule, *(row(cells) for cells in self.cells)]
        if self.caption is None:
            return "\n".join(lines)
        options = [f":name: {self.name}"] if self.name else []
        return "\n".join([f"````{{table}} {self.caption}", *options, "", *lines, "````"])

    def _repr_markdown_(self):
        return self.to_markdown()

    def _repr_html_(self):
        """The table as HTML, for Jupyter (the book renders the Markdown instead)."""

        def cells(tag, texts):
            return "".join(
                f'<{tag} style="text-align: {"right" if right else "left"}">'
                f"{html.escape(text)}</{tag}>"
                for text, right in zip(texts, self.numeric, strict=True)
            )

        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        body = "".join(f"<tr>{cells('td', row)}</tr>" for row in self.cells)
        return (f"<table>{caption}<thead><tr>{cells('th', self.headers)}</tr></thead>"
                f"<tbody>{body}</tbody></table>")

    def to_text(self):
        """The table as aligned plain text, numbers right-aligned, or ``None`` if too wide.

        Too wide means a line longer than 78 characters, or more than 40 rows.
        """
        columns = list(zip(self.headers, *self.cells, strict=True))
        widths = [max(len(text) for text in column) for column in columns]

        def line(texts):
            return "  ".join(
                text.rjust(width) if right else text.ljust(width)
                for text, width, right in zip(texts, widths, self.numeric, strict=True)
            ).rstrip()

        lines = [line(self.headers), line(["-" * width for width in widths]),
                 *(line(row) for row in self.cells)]
        if self.caption:
            lines.insert(0, f"Table: {self.caption}")
        if len(self.cells) > 40 or max(len(text) for text in lines) > self.LINE_WIDTH:
            return None
        return "\n".join(lines)

    def __repr__(self):
        """The plain-text form that nbval compares: the table itself if it fits in 78
        columns and 40 rows, else one line, ``<table: R rows x C columns>``."""
        text = self.to_text()
        if text is not None:
            return text
        nrows, ncols = len(self.cells), len(self.headers)
        summary = (f"<table: {nrows} row{'s' * (nrows != 1)} x "
                   f"{ncols} column{'s' * (ncols != 1)}>")
        if self.caption:
            room = self.LINE_WIDTH - len(summary) - 2
            caption = self.caption
            if len(caption) > room:
                caption = caption[: room - 3] + "..."
            summary = f"{summary[:-1]}: {caption}>"
        return summary

    __str__ = __repr__


def below(bound, spec):
    """A table format: ``"< bound"`` for a value smaller in size than ``bound``, else ``spec``.

    For an error that is zero up to rounding, the book prints the bound, never the rounding
    noise.

    Parameters
    ----------
    bound : str
        The bound as the reader should read it, for example ``"1e-12"``.
    spec : str
        The format spec of the other values, for example ``".2e"``.

    Returns
    -------
    callable
        ``value -> text``, for the ``formats`` of :func:`table`.

    Examples
    --------
    >>> show = below("1e-12", ".2e")
    >>> show(3e-15), show(-2e-16), show(0.00123)
    ('< 1e-12', '< 1e-12', '1.23e-03')
    """
    try:
        limit = float(bound) if isinstance(bound, str) else None
    except ValueError:
        limit = None
    if limit is None or not limit > 0:
        raise ValueError(f"bound must be a positive number written as text, got {bound!r}")
    try:
        format(1.0, spec)
    except (TypeError, ValueError):
        raise ValueError(f"spec must be a format spec such as '.2e', got {spec!r}") from None
    text = f"< {bound}"
    return lambda value: text if abs(value) < limit else format(value, spec)


def table(rows, headers, formats=None, caption=None, name=None):
    """A table that a notebook cell displays as a real table in the book.

    Parameters
    ----------
    rows : iterable of sequences
        One sequence of values a row, as many values as ``headers``. Numbers are formatted by
        ``formats`` and right-aligned; other values are shown as text, left-aligned; ``None``
        is an empty cell.
    headers : sequence of str
        The column headers, in words (``"mean of V"``, not ``"mean_v"``). Inline math in
        dollars is rendered in the book.
    formats : str, callable, sequence or mapping, optional
        How numbers are written: one format for every column, or one a column (a sequence, or
        a mapping from header to format). A format is a format spec (``".4g"``, ``".2e"``),
        a format string (``"{:,d}"``, ``"{:.1%}"``), a callable returning text, or ``None``
        for the default (integers in full, other numbers ``.4g``). Write only the digits that
        are stable.
    caption : str, optional
        A caption in words. A captioned table is numbered in the book ("Table 3") and in the
        PDF.
    name : str, optional
        A label, to refer to the table with ``{numref}`name```; needs a caption.

    Returns
    -------
    Table
        Displayed as MyST Markdown by MyST-NB, as HTML by Jupyter, and, for nbval, as aligned
        plain text (or a one-line summary when wider than 78 columns).

    Examples
    --------
    >>> rows = [["normal", 1.0, 0.12345], ["Student-t (3)", 12, 3e-7]]
    >>> t = table(rows, headers=["law", "mean", "KL (nats)"],
    ...           formats=[None, ".3g", ".2e"],
    ...           caption="Two laws.", name="tab-laws")
    >>> t
    Table: Two laws.
    law            mean  KL (nats)
    -------------  ----  ---------
    normal            1   1.23e-01
    Student-t (3)    12   3.00e-07
    >>> print(t.to_markdown())
    ````{table} Two laws.
    :name: tab-laws
    <BLANKLINE>
    | law | mean | KL (nats) |
    |:---|---:|---:|
    | normal | 1 | 1.23e-01 |
    | Student-t (3) | 12 | 3.00e-07 |
    ````
    """
    try:
        headers = tuple(headers) if not isinstance(headers, str) else None
    except TypeError:
        headers = None
    if not headers or not all(isinstance(h, str) and h.strip() for h in headers):
        raise ValueError("headers must be a sequence of non-empty strings")
    ncols = len(headers)
    try:
        values = [tuple(row) for row in rows]
    except TypeError:
        raise ValueError("rows must be an iterable of sequences") from None
    for index, row in enumerate(values):
        if len(row) != ncols:
            raise ValueError(f"rows: row {index} has {len(row)} values for {ncols} headers")

    if formats is None or isinstance(formats, str) or callable(formats):
        specs = [formats] * ncols
    elif isinstance(formats, Mapping):
        unknown = set(formats) - set(headers)
        if unknown:
            raise ValueError(f"formats names columns that are not headers: {sorted(unknown)}")
        specs = [formats.get(header) for header in headers]
    elif isinstance(formats, Sequence) and len(formats) == ncols:
        specs = list(formats)
    else:
        raise ValueError(f"formats must be one format, or one for each of the {ncols} columns")
    if name is not None and caption is None:
        raise ValueError("name needs a caption: only captioned tables are numbered")
    if caption is not None and not (isinstance(caption, str) and caption.strip()):
        raise ValueError("caption must be a non-empty string")
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise ValueError(f"name must be a non-empty string (a label), got {name!r}")

    numeric = tuple(
        any(row[col] is not None for row in values)
        and all(_is_number(row[col]) for row in values if row[col] is not None)
        for col in range(ncols)
    )
    try:
        cells = tuple(
            tuple(_format_cell(value, spec if _is_number(value) else None)
                  for value, spec in zip(row, specs, strict=True))
            for row in values
        )
    except (ValueError, TypeError) as error:
        raise ValueError(f"formats: {formats!r} cannot write the numbers ({error})") from None
    return Table(
        headers=tuple(" ".join(h.split()) for h in headers),
        cells=cells,
        numeric=numeric,
        caption=" ".join(caption.split()) if caption else None,
        name=name,
    )
