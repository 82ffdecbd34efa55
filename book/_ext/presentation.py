"""How the site presents figures, tables, formulas and search results.

- ``static/book.css``: tables wider than the text column scroll inside their own box instead of
  widening the page; display formulas and theorem boxes keep to the column (a formula too
  wide for a phone scrolls inside its own box); figures show a zoom cursor.
- ``static/book.js``: a click (or Enter) on any figure of a page shows it at full size over the
  page (Escape or a click closes it); on the pages listed in ``phone_stacked_table_pages``,
  each row of a table becomes a card on a phone, every cell labelled with its column's
  header, so that no column is out of sight; search results typeset their formulas, and
  result snippets show "…" for a formula instead of its TeX source.
- Section titles with formulas reach the search index with their TeX between ``\\(`` and
  ``\\)``, so that the search page can typeset them (Sphinx indexes the bare TeX).
- A link to a page by its title (``{doc}`best_of_n```), which Sphinx writes as the title's
  plain text (TeX source and all), shows the title with its formulas typeset.
- The browser tab's title (``<title>``) shows a formula of a page title as plain text
  (``N up to 10¹²``), not its TeX source.
- A glued number that Python's format wrote in e-notation (``{glue:text}`key:.2e```) reads as
  a number in a sentence: ``8.3e-11`` becomes ``8.3 × 10⁻¹¹``, on the site and in the PDF.
- A formula and the punctuation around it stay on one line: on a phone, ``$h = 4$,`` never
  leaves its comma at the start of the next line, nor ``("$x$`` its quote at the end of one.
- In the PDF: a table keeps the column alignment of its Markdown (``|---:|`` right-aligns a
  column of numbers), other columns are ragged right; a chapter left empty (the References
  page, whose entries LaTeX gathers into the Bibliography at the end) is dropped.
"""

import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.search import WordCollector
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.nodes import clean_astext

STATIC = Path(__file__).parent / "static"


def title_text(node):
    """A title's text with each formula as ``\\(TeX\\)``."""
    parts = []
    for child in node.findall(lambda n: isinstance(n, (nodes.Text, nodes.math))):
        if isinstance(child, nodes.math):
            parts.append(f"\\({child.astext()}\\)")
        elif not isinstance(child.parent, nodes.math):
            parts.append(child.astext())
    return "".join(parts)


_dispatch_visit = WordCollector.dispatch_visit


def dispatch_visit(self, node):
    _dispatch_visit(self, node)
    if isinstance(node, nodes.title) and any(True for _ in node.findall(nodes.math)):
        _, anchor = self.found_titles[-1]
        self.found_titles[-1] = (title_text(node), anchor)


class DocLinkTitles(SphinxPostTransform):
    """Links whose text is a page title with formulas get the title's nodes, formulas and all."""

    default_priority = 20  # after the references are resolved (10)

    def run(self, **kwargs):
        titles = {}
        for title in self.env.titles.values():
            if any(True for _ in title.findall(nodes.math)):
                titles[clean_astext(title)] = title
        if not titles:
            return
        for reference in list(self.document.findall(nodes.reference)):
            for inline in list(reference.findall(nodes.inline)):
                title = titles.get(inline.astext())
                if title is not None:
                    inline.children = []
                    inline.extend(child.deepcopy() for child in title.children)


#: A number in e-notation as Python's format writes it: mantissa, exponent's sign, exponent.
E_NOTATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)e([+-]?)0*(\d+)(?![\w.])")


def power_of_ten(text):
    """``8.3e-11`` -> ``8.3 × 10⁻¹¹``, ``1e+12`` -> ``10¹²``; no-break spaces keep it on a line."""

    def written(match):
        mantissa, sign, exponent = match.groups()
        power = (("-" if sign == "-" else "") + exponent).translate(SUPERSCRIPTS)
        return f"10{power}" if mantissa == "1" else f"{mantissa}\u00a0×\u00a010{power}"

    return E_NOTATION.sub(written, text)


class GluedNumbers(SphinxPostTransform):
    """Glued text (MyST-NB's ``pasted-text``), and a number set in bold on its own (the
    scorecard's key numbers), with its e-notation written as powers of ten."""

    default_priority = 10  # after MyST-NB pastes the glue of other documents (5)

    def run(self, **kwargs):
        for node in list(self.document.findall(nodes.TextElement)):
            text = node.astext()
            glued = isinstance(node, nodes.inline) and "pasted-text" in node["classes"]
            key = isinstance(node, nodes.strong) and E_NOTATION.fullmatch(text)
            written = power_of_ten(text)
            if (glued or key) and written != text:
                node.children = [nodes.Text(written)]


#: Punctuation that must not start a line after the formula it follows, or end a line before
#: the formula it opens.
TRAILING = re.compile(r"[,.;:!?)\]\u2019\u201d]+")
OPENING = re.compile(r"[(\[\u2018\u201c]+$")


class FormulaPunctuation(SphinxPostTransform):
    """Each inline formula and the punctuation right around it in one ``span.nowrap``.

    The site sets inline formulas as inline blocks (so that a wide one scrolls in its own
    box), and a browser may break a line between an inline block and a comma after it, or
    an opening quote or bracket before it.
    """

    builders = ("html", "dirhtml", "singlehtml")
    default_priority = 400

    def run(self, **kwargs):
        for math in list(self.document.findall(nodes.math)):
            parent = math.parent
            if parent is None:
                continue
            index = parent.index(math)
            before = parent[index - 1] if index > 0 else None
            after = parent[index + 1] if index + 1 < len(parent) else None
            opening = (OPENING.search(before.astext())
                       if isinstance(before, nodes.Text) else None)
            closing = (TRAILING.match(after.astext())
                       if isinstance(after, nodes.Text) else None)
            if opening is None and closing is None:
                continue
            group = nodes.inline(classes=["nowrap"])
            parent.replace(math, group)
            if opening is not None:
                group += nodes.Text(opening.group())
                self.shorten(parent, before, before.astext()[:opening.start()])
            group += math
            if closing is not None:
                group += nodes.Text(closing.group())
                self.shorten(parent, after, after.astext()[closing.end():])

    @staticmethod
    def shorten(parent, text_node, rest):
        """Put ``rest`` in the place of ``text_node``, or drop it if ``rest`` is empty.

        The node is found by identity: docutils's ``Text`` is a ``str``, and ``remove`` and
        ``replace`` find a child by equality, so they would take the first text of the same
        value (an earlier ``,`` of the paragraph) instead of this one.
        """
        index = next(i for i, child in enumerate(parent.children) if child is text_node)
        if rest:
            parent[index] = nodes.Text(rest)
        else:
            del parent[index]


class LatexTables(SphinxPostTransform):
    """LaTeX column specs for tables.

    A small table keeps its Markdown column alignment (L, R or C a column: ``|---:|``
    right-aligns numbers) and tabulary's automatic widths. A long table (many rows or much
    text), which tabulary cannot break across pages, becomes a longtable with ragged-right
    columns as wide as their text suggests.
    """

    builders = ("latex",)
    default_priority = 400
    LONG_ROWS = 6
    LONG_CHARS = 1500

    def run(self, **kwargs):
        letters = {"text-right": "R", "text-center": "C", "text-left": "L"}
        for table in list(self.document.findall(nodes.table)):
            if table.parent is None or isinstance(table.previous_sibling(),
                                                   addnodes.tabular_col_spec):
                continue
            tgroup = table.next_node(nodes.tgroup)
            if tgroup is None or not tgroup.get("cols"):
                continue
            ncols = tgroup["cols"]
            rows = list(table.findall(nodes.row))
            spec = ["L"] * ncols
            lengths = [[] for _ in range(ncols)]
            for row in rows:
                for index, entry in enumerate(row.children[:ncols]):
                    lengths[index].append(len(entry.astext()))
                    for cls, letter in letters.items():
                        if cls in entry.get("classes", []):
                            spec[index] = letter
            total = sum(map(sum, lengths))
            if len(rows) > self.LONG_ROWS or total > self.LONG_CHARS:
                weights = [max(8, min(60, sum(col) / max(len(col), 1))) ** 0.7
                           for col in lengths]
                parts = [round(100 * w / sum(weights)) for w in weights]
                if any("autosummary" in c.split() for c in table["classes"]):  # names, summary
                    parts = [40, 60]
                align = {"L": r"\raggedright", "R": r"\raggedleft", "C": r"\centering"}
                colspec = "".join(
                    rf">{{{align[letter]}\arraybackslash}}\X{{{part}}}{{{sum(parts)}}}"
                    for letter, part in zip(spec, parts, strict=True)
                )
                table["classes"].append("longtable")
            elif any(letter != "L" for letter in spec):
                colspec = "".join(spec)
            else:
                continue
            node = addnodes.tabular_col_spec()
            node["spec"] = colspec
            table.parent.insert(table.parent.index(table), node)


class DropEmptyLatexChapters(SphinxPostTransform):
    """Drop sections left with nothing but a title (after LaTeX moved the citations away)."""

    builders = ("latex",)
    default_priority = 800  # after sphinx.builders.latex.transforms.BibliographyTransform

    def run(self, **kwargs):
        for section in list(self.document.findall(nodes.section)):
            if section.parent is not None and all(map(self.empty, section.children)):
                section.parent.remove(section)

    @classmethod
    def empty(cls, node):
        if isinstance(node, (nodes.title, nodes.target, addnodes.index, nodes.comment)):
            return True
        if isinstance(node, (nodes.container, nodes.compound)):
            return all(map(cls.empty, node.children))
        return False


SUPERSCRIPTS = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
SUBSCRIPTS = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
COMMANDS = {
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "to": "→", "infty": "∞", "mid": "|",
    "times": "×", "cdot": "·", "approx": "≈", "ne": "≠", "neq": "≠", "in": "∈", "sim": "~",
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "varepsilon": "ε", "epsilon": "ε",
    "lambda": "λ", "mu": "μ", "sigma": "σ", "pi": "π", "rho": "ρ", "kappa": "κ", "theta": "θ",
    "E": "E", "P": "P", "R": "ℝ", "Fbar": "F̄", "KL": "KL", "log": "log", "exp": "exp",
    "lim": "lim", "sup": "sup", "inf": "inf", "max": "max", "min": "min",
}


def tex_to_text(tex):
    """A simple formula as plain text: ``10^{12}`` -> ``10¹²``, ``\\beta \\to 0`` -> ``β → 0``."""

    def script(match):
        body = match.group(2) if match.group(2) is not None else match.group(3)
        table = SUPERSCRIPTS if match.group(1) == "^" else SUBSCRIPTS
        converted = body.translate(table)
        targets = {chr(code) for code in table.values()}
        if all(c in targets or c.isspace() for c in converted):
            return converted
        return f"{match.group(1)}({body})"

    text = re.sub(r"\\([A-Za-z]+)", lambda m: COMMANDS.get(m.group(1), m.group(1)), tex)
    text = re.sub(r"\\[,;:! ]", " ", text)
    text = re.sub(r"([\^_])(?:\{([^{}]*)\}|(\w))", script, text)
    text = text.replace("{", "").replace("}", "").replace("\\", "")
    return re.sub(r"\s+", " ", text).strip()


def plain_title(app, pagename, templatename, context, doctree):
    """The ``<title>`` of a page whose title has formulas: the formulas as plain text."""
    title = context.get("title")
    if title and "\\(" in title:
        context["title"] = re.sub(r"\\\((.*?)\\\)", lambda m: tex_to_text(m.group(1)), title)


def add_static_path(app):
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def mark_stacked_tables(app, pagename, templatename, context, doctree):
    if pagename in app.config.phone_stacked_table_pages:
        context["metatags"] = (context.get("metatags", "")
                               + '\n<meta name="phone-stacked-tables" content="1">')


def setup(app):
    WordCollector.dispatch_visit = dispatch_visit
    app.add_config_value("phone_stacked_table_pages", [], "html")
    app.connect("builder-inited", add_static_path)
    app.connect("html-page-context", mark_stacked_tables)
    app.connect("html-page-context", plain_title)
    app.add_post_transform(DocLinkTitles)
    app.add_post_transform(GluedNumbers)
    app.add_post_transform(FormulaPunctuation)
    app.add_post_transform(LatexTables)
    app.add_post_transform(DropEmptyLatexChapters)
    app.add_css_file("book.css")
    app.add_js_file("book.js", loading_method="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
