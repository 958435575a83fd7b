"""The book's citation style: author and year in round brackets, as the prose has always written them.

``{cite:p}`goodfellow2014gan``` gives "(Goodfellow et al., 2014)", ``{cite:t}`goodfellow2014gan``` gives
"Goodfellow et al. (2014)" and ``{cite:alp}`goodfellow2014gan``` gives "Goodfellow et al., 2014" for a
citation inside brackets the sentence already has. Several keys in one role are separated by semicolons.
sphinxcontrib-bibtex's own ``author_year`` style uses square brackets and an italic "et al.", so this
registers a variant, ``author_year_round``, that _config.yml selects with ``bibtex_reference_style``.
"""

from dataclasses import dataclass, field

from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle, PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


def _round(sep: str = ", ") -> BracketStyle:
    return BracketStyle(left="(", right=")", sep=sep)


@dataclass
class RoundAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    """Author-year citations in round brackets, "et al." in roman type, keys separated by "; "."""

    bracket_parenthetical: BracketStyle = field(default_factory=lambda: _round(sep="; "))
    bracket_textual: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)
    person: PersonStyle = field(default_factory=lambda: PersonStyle(other=" et al."))


def setup(app):
    register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYearReferenceStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
