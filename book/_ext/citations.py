"""Author-year citations that tell apart works by the same authors in the same year.

sphinxcontrib-bibtex's ``author_year`` reference style writes "Kwa et al., 2024" for both the
2024 post and the 2024 paper (the difference shows only in the hover tooltip), and its default
bibliography style labels the list with alpha keys ("[KTGA24a]") that appear nowhere in the
text. This extension:

- gives entries with the same authors' last names and the same year the suffixes a, b, ...
  in the order of their titles, in the ``year`` field itself, so that the citation ("Kwa et
  al., 2024a"), the tooltip and the bibliography entry all carry it;
- registers the bibliography style ``book_author_year``: pybtex's ``unsrt`` formatting, sorted
  by author, year and title, each entry labelled with its citation text ("Kwa et al.,
  2024a"), in the HTML and in the PDF.
"""

import re
import string
from collections import defaultdict

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle

SUFFIXED = re.compile(r"^(\d{4})[a-z]$")


def _plain(latex):
    """A LaTeX-encoded name or title as plain Unicode text ("M{\\"a}chler" -> "Mächler")."""
    return Text.from_latex(latex).render_as("text")


def _persons(entry):
    return entry.persons.get("author") or entry.persons.get("editor") or []


def citation_text(entry):
    """The text a citation shows: last names (et al. beyond two) and year."""
    names = [_plain(" ".join(person.prelast_names + person.last_names))
             for person in _persons(entry)]
    if not names:
        names = [_plain(entry.fields.get("title", "Anonymous"))]
    if len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


def add_year_suffixes(entries):
    """Suffix the years of entries that share authors and year: 2024 -> 2024a, 2024b."""
    groups = defaultdict(list)
    for key, entry in entries.items():
        year = entry.fields.get("year")
        if year is None:
            continue
        match = SUFFIXED.match(year)
        if match:  # suffixed by an earlier build (the parsed data is cached in the env)
            entry.fields["year"] = year = match.group(1)
        authors = tuple(_plain(" ".join(p.last_names)) for p in _persons(entry))
        groups[(authors, year)].append(key)
    for (_, year), keys in groups.items():
        if len(keys) > 1:
            keys.sort(key=lambda k: _plain(entries[k].fields.get("title", "")).lower())
            for letter, key in zip(string.ascii_lowercase, keys, strict=False):
                entries[key].fields["year"] = f"{year}{letter}"


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield citation_text(entry)


class BookAuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabelStyle
    default_sorting_style = "author_year_title"


def suffix_years(app):
    domain = app.env.get_domain("cite")
    add_year_suffixes(domain.bibdata.data.entries)


def setup(app):
    register_plugin("pybtex.style.formatting", "book_author_year", BookAuthorYearStyle)
    # after sphinxcontrib-bibtex has parsed the .bib files (its handler has priority 500)
    app.connect("builder-inited", suffix_years, priority=800)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
