"""Drop repeated <script> entries from every page.

Under Sphinx 7.4, sphinx-thebe 0.3.1 and sphinx-togglebutton register their inline scripts
twice (once with filename ``None``, once with ``''``), so each page declares
``const THEBE_JS_URL`` twice and the browser logs a SyntaxError. Keeping the first copy of each
script, whatever the empty filename is spelled, leaves the page otherwise unchanged.
"""


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
