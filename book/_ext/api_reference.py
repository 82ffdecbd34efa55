"""The API reference page, built from the docstrings of every module of a package.

In ``book/api.md``, a line ``% api-modules goodhart`` is replaced, when the page is read, by a
section for each public module of ``goodhart`` that exists at build time (found with
``pkgutil.walk_packages``; names starting with ``_`` are skipped): a summary table of the
module's public functions and classes, then ``automodule`` with its members. A new module
appears with no edit to the page; a module that cannot be imported fails the build.
"""

import importlib
import inspect
import pkgutil
import re

MARKER = re.compile(r"^% api-modules (?P<package>[\w.]+)[ \t]*$", re.MULTILINE)


def public_modules(package_name):
    package = importlib.import_module(package_name)
    names = []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def public_members(module_name):
    """Functions and classes defined in the module (or listed in its ``__all__``)."""
    module = importlib.import_module(module_name)
    listed = getattr(module, "__all__", None)
    members = []
    for name, value in vars(module).items():
        if not (inspect.isfunction(value) or inspect.isclass(value)):
            continue
        if listed is not None:
            if name in listed:
                members.append(name)
        elif not name.startswith("_") and getattr(value, "__module__", None) == module_name:
            members.append(name)
    return members


def module_section(module_name):
    lines = [f"## `{module_name}`", "", "```{eval-rst}", f".. currentmodule:: {module_name}", ""]
    members = public_members(module_name)
    if members:
        lines += [".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in members]
        lines += [""]
    lines += [f".. automodule:: {module_name}", "   :members:", "```", ""]
    return "\n".join(lines)


def expand(app, docname, source):
    def sections(match):
        return "\n".join(module_section(name) for name in public_modules(match["package"]))

    source[0] = MARKER.sub(sections, source[0])


def setup(app):
    app.connect("source-read", expand)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
