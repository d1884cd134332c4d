"""A web-search query, as PostgreSQL's ``websearch_to_tsquery`` reads it,
translated into a safe SQLite FTS5 expression (and normalized for
PostgreSQL).

The syntax: words are ANDed; ``"quoted words"`` are a phrase; ``-word`` and
``-"a phrase"`` exclude; ``or`` between two terms is OR, binding looser than
AND (``a b or c`` is ``(a AND b) OR c``). Everything else is text: FTS5's
own operators, column filters, ``NEAR``, ``*`` and brackets mean nothing,
because every term reaches FTS5 inside a double-quoted string (its quotes
doubled), restricted to the text column. A term holding no letter or digit
is dropped (as PostgreSQL drops a word with no lexeme), and a query with no
term left matches nothing. Whatever the input, the output is a valid FTS5
expression, or ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["fts_expression", "websearch_text"]


@dataclass(frozen=True)
class _Term:
    text: str
    negated: bool


_OR = object()


def _items(query: str) -> list[_Term | object]:
    """The terms and ``or`` operators of ``query``, in order."""
    items: list[_Term | object] = []
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        negated = query[i] == "-"
        if negated:
            i += 1
            if i >= n or query[i].isspace():
                continue  # a lone '-'
        if query[i] == '"':
            end = query.find('"', i + 1)
            end = n if end < 0 else end  # an unbalanced quote runs to the end
            items.append(_Term(query[i + 1 : end], negated))
            i = end + 1
            continue
        j = i
        while j < n and not query[j].isspace() and query[j] != '"':
            j += 1
        word = query[i:j]
        i = j
        items.append(_OR if not negated and word.lower() == "or" else _Term(word, negated))
    return items


def _groups(items: list[_Term | object]) -> list[list[_Term]]:
    """The AND-groups an OR joins. An ``or`` with no term on one side is a word."""
    groups: list[list[_Term]] = [[]]
    for index, item in enumerate(items):
        if isinstance(item, _Term):
            groups[-1].append(item)
        elif groups[-1] and any(isinstance(later, _Term) for later in items[index + 1 :]):
            groups.append([])
        else:
            groups[-1].append(_Term("or", False))
    return groups


def _phrase(column: str, text: str) -> str:
    return f"{column} : " + '"' + text.replace('"', '""') + '"'


def _kept(group: list[_Term]) -> list[_Term]:
    """The terms that hold a letter or a digit (the others can match nothing)."""
    return [term for term in group if any(char.isalnum() for char in term.text)]


def websearch_text(query: str) -> str | None:
    """``query`` rewritten in the plainest form of the same syntax, for
    PostgreSQL's ``websearch_to_tsquery``: every term quoted, one ``-`` at
    most before it, ``or`` only between two terms. PostgreSQL reads what a
    person types too, but not everything: a run of a thousand ``-`` is an
    error there ("tsquery stack too small"), and this way both backends
    read a query alike. ``None`` when no term is left."""
    alternatives = []
    for group in _groups(_items(query)):
        terms = _kept(group)
        if terms:
            alternatives.append(
                " ".join(("-" if term.negated else "") + f'"{term.text}"' for term in terms)
            )
    return " or ".join(alternatives) if alternatives else None


def fts_expression(query: str, owner: str, column: str = "content") -> str | None:
    """The FTS5 expression for a web-search ``query`` over one owner's entries.

    Args:
        query: What the user typed (checked: no NUL, no lone surrogate).
        owner: The owner token (the user id in hex) every match must carry.
        column: The indexed text column.

    Returns:
        The expression, or ``None`` when the query has no term (it matches
        nothing).
    """
    alternatives = []
    for group in _groups(_items(query)):
        terms = _kept(group)
        positive = [_phrase(column, term.text) for term in terms if not term.negated]
        negative = [_phrase(column, term.text) for term in terms if term.negated]
        if not positive and not negative:
            continue
        base = "(" + " AND ".join(positive) + ")" if positive else f'owner : "{owner}"'
        if negative:
            base = f"({base} NOT ({' OR '.join(negative)}))"
        alternatives.append(base)
    if not alternatives:
        return None
    return f'owner : "{owner}" AND ({" OR ".join(alternatives)})'
