"""Griffe extension of the docs build: Sphinx roles in docstrings rendered as inline code.

The docstrings follow numpydoc, whose cross-references are Sphinx roles (``:func:`greedy```,
``:class:`~matroidomp.PartitionMatroid```). mkdocstrings renders Markdown, where a role would
show as ``:func:greedy``; this extension rewrites each role to its target as inline code
(``greedy``, ``PartitionMatroid`` for a ``~``-prefixed path). Loaded by mkdocs.yml; not part of
the package and not copied into the site (``exclude_docs``).
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc|const|ref|term):`(~?)([^`<]+?)(?:\s*<([^>]+)>)?`")


def _replace(match: re.Match) -> str:
    """The role's target as inline code: the last component after ``~``, the title if given."""
    tilde, text, target = match.groups()
    if target is not None:  # :role:`title <target>`
        return f"`{text.strip()}`"
    return f"`{text.rsplit('.', 1)[-1] if tilde else text}`"


def convert(text: str) -> str:
    """``text`` with every Sphinx role replaced by inline code."""
    return _ROLE.sub(_replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        """Called for every module, class, function and attribute."""
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
