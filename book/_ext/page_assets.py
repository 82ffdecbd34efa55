"""Which scripts each page of the site gets.

Two fixes, both checked by the browser test (tests/site):

- MathJax on every page. Sphinx loads it only on pages whose body has math, but the sidebar
  of every page lists chapter titles that do (such as "... to $N = 10^{12}$"), and on a page
  without math they would show as raw TeX.
- No repeated scripts. Under Sphinx 7.4, sphinx-thebe 0.3.1 and sphinx-togglebutton register
  their inline scripts twice (once with filename ``None``, once with ``''``), so each page
  declares ``const THEBE_JS_URL`` twice and the browser logs a SyntaxError. The first copy of
  each script is kept.
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
    app.set_html_assets_policy("always")
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
