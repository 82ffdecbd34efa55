"""The site's transforms of book/_ext/presentation.py, on document trees built here."""

import sys
from pathlib import Path

import pytest
from docutils import frontend, nodes, utils

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from presentation import FormulaPunctuation  # noqa: E402 (the book's extension folder)


def paragraph(*children):
    """A paragraph in a document of its own: children are strings (text), ``("math", tex)``
    or ``("strong", text)``."""
    document = utils.new_document("test", frontend.get_default_settings())
    kinds = {"math": nodes.math, "strong": nodes.strong}
    para = nodes.paragraph()
    for child in children:
        if isinstance(child, str):
            para += nodes.Text(child)
        else:
            kind, text = child
            para += kinds[kind](text, text)
    document += para
    return document, para


def bound(para):
    """The text of each ``span.nowrap`` group the transform made."""
    return [g.astext() for g in para.findall(nodes.inline) if "nowrap" in g["classes"]]


@pytest.mark.parametrize("children", [
    # a comma alone after the formula, and an equal comma earlier, after a reference
    ("see ", ("strong", "(2)"), ",", " then ", ("math", "x"), ",", ("strong", " end")),
    # an opening bracket alone before the formula, and an equal one earlier
    ("(", ("strong", "a"), ") and ", "(", ("math", "y"), ") done"),
    # texts of equal value on both sides of two formulas
    (", ", ("math", "a"), ", ", ("math", "b"), ", "),
])
def test_punctuation_is_bound_to_its_formula_and_none_is_lost(children):
    document, para = paragraph(*children)
    text = para.astext()
    FormulaPunctuation(document).run()
    assert para.astext() == text
    assert len(list(para.findall(nodes.math))) == sum(isinstance(c, tuple) and c[0] == "math"
                                                       for c in children)
    groups = bound(para)
    assert groups, "no formula was bound to its punctuation"
    for group in groups:
        assert group[0] in "([" or group[-1] in ",.;:)]", group


def test_the_comma_after_the_formula_is_the_one_bound():
    document, para = paragraph("see ", ("strong", "(2)"), ",", " then ", ("math", "x"), ",",
                               ("strong", " end"))
    FormulaPunctuation(document).run()
    assert bound(para) == ["x,"]
    assert para.astext() == "see (2), then x, end"
