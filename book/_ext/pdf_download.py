"""A download button for the PDF of the whole book, when there is one.

``make pdf`` builds ``_build/latex/book.pdf`` and then the site again. If that file exists
when the site is built, every page gets a header button (and an entry in the download menu)
for it, and the file is copied into the site as ``pdf_download_name``; if it does not, the
site has no link to it, so a site built without the PDF has no dead link.
"""

import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)


def source(app):
    path = Path(app.confdir) / app.config.pdf_download_source
    return path if path.is_file() else None


def add_button(app, pagename, templatename, context, doctree):
    if app.builder.format != "html" or source(app) is None or "header_buttons" not in context:
        return
    url = context["pathto"](app.config.pdf_download_name, 1)
    tooltip = "Download the whole book as a PDF"
    buttons = context["header_buttons"]
    for button in buttons:
        if button.get("label") == "download-buttons":
            button["buttons"].insert(0, {"type": "link", "url": url, "text": "book .pdf",
                                         "tooltip": tooltip, "icon": "fas fa-book",
                                         "label": "download-book-pdf-menu-item"})
    buttons.insert(0, {"type": "link", "url": url, "tooltip": tooltip,
                       "icon": "fas fa-file-pdf", "label": "download-book-pdf-button"})


def copy_pdf(app, exception):
    if exception is None and app.builder.format == "html" and source(app) is not None:
        shutil.copyfile(source(app), Path(app.outdir) / app.config.pdf_download_name)
        logger.info(f"copied {app.config.pdf_download_source} to the site")


def setup(app):
    app.add_config_value("pdf_download_source", "_build/latex/book.pdf", "html")
    app.add_config_value("pdf_download_name", "catastrophic-goodhart.pdf", "html")
    # after sphinx-book-theme has made its header buttons (priority 501)
    app.connect("html-page-context", add_button, priority=600)
    app.connect("build-finished", copy_pdf)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
