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
"""

from pathlib import Path

from docutils import nodes
from sphinx.search import WordCollector

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
    app.add_css_file("book.css")
    app.add_js_file("book.js", loading_method="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
