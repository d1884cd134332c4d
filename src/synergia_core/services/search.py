"""SearchService: full-text search of a user's messages and chat titles."""

from __future__ import annotations

import math
import uuid

from synergia_core.errors import InvalidInputError
from synergia_core.repositories.protocols import Repositories, SearchKey, SearchOptions
from synergia_core.schemas import ChatRead, Page, SearchHit
from synergia_core.services._base import Service
from synergia_core.services._checks import check_limit, check_text, check_user_id, optional_uuid
from synergia_core.services._cursor import decode_cursor, encode_cursor, invalid_cursor

__all__ = ["MAX_QUERY_CHARS", "SearchService"]

MAX_QUERY_CHARS = 1000
"""The longest search query accepted, in characters."""

_MESSAGES = "search-messages"
_CHATS = "search-chats"


class SearchService(Service):
    """Full-text search over one user's live chats and undeleted messages.

    The query syntax is that of web search engines (PostgreSQL's
    ``websearch_to_tsquery``), on both backends: words are ANDed,
    ``"quoted words"`` are a phrase, ``-word`` excludes, ``or`` between two
    terms is OR. Anything else is plain text: no query string raises a
    database error. Matching ignores case (and accents on SQLite, and on
    PostgreSQL when the ``unaccent`` extension is installed).

    Results are ranked (``ts_rank_cd`` on PostgreSQL, ``bm25`` on SQLite)
    and keyset-paginated. A message being streamed is found once it is
    finished (or failed, or cancelled). Messages and chats of other users,
    soft-deleted chats, deleted messages and purged rows are never found.
    """

    def _options(self) -> SearchOptions:
        config = self._config
        open_mark, close_mark = config.search_marks
        return SearchOptions(
            config.search_config, open_mark, close_mark, config.search_snippet_words
        )

    def messages(
        self,
        query: str,
        *,
        user_id: str,
        chat_id: uuid.UUID | str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[SearchHit]:
        """The user's messages whose text matches ``query``, best match first.

        Args:
            query: What to look for (see the class for the syntax); a query
                with no word in it finds nothing.
            user_id: Whose messages.
            chat_id: Only this chat's messages.
            limit: Page size, 1 to 1000.
            cursor: Where the previous page ended.

        Returns:
            A page of :class:`~synergia_core.schemas.SearchHit`, each with a
            snippet of the text, its matches marked.

        Raises:
            InvalidInputError: ``query`` is not a string, is longer than
                :data:`MAX_QUERY_CHARS`, or holds a NUL character or a lone
                surrogate; ``chat_id`` is not a UUID; ``limit`` is out of
                range; ``cursor`` is invalid (altered, or made for another
                user, chat or query); ``ServiceConfig.search_config`` names
                no configuration the database knows.
        """
        check_user_id(user_id)
        _check_query(query)
        chat = optional_uuid(chat_id, "chat_id")
        check_limit(limit)
        bound = (user_id, None if chat is None else str(chat), query)
        secret = self._config.cursor_secret
        after = None if cursor is None else _decode(cursor, _MESSAGES, bound, secret)
        options = self._options()
        with self._scope(write=False, user_id=user_id) as repos:
            _check_config(repos, options.config)
            found = repos.search.messages(
                query, user_id=user_id, chat_id=chat, limit=limit + 1, after=after, options=options
            )
        next_cursor = None
        if len(found) > limit:
            found = found[:limit]
            hit, score = found[-1]
            next_cursor = _encode(_MESSAGES, SearchKey(score, hit.message_id), bound, secret)
        return Page[SearchHit](items=[hit for hit, _score in found], next_cursor=next_cursor)

    def chats(
        self, query: str, *, user_id: str, limit: int = 20, cursor: str | None = None
    ) -> Page[ChatRead]:
        """The user's live chats (archived ones included) whose title
        matches ``query``, best match first.

        Args:
            query: What to look for (see the class for the syntax).
            user_id: Whose chats.
            limit: Page size, 1 to 1000.
            cursor: Where the previous page ended.

        Raises:
            InvalidInputError: As for :meth:`messages`.
        """
        check_user_id(user_id)
        _check_query(query)
        check_limit(limit)
        bound = (user_id, None, query)
        secret = self._config.cursor_secret
        after = None if cursor is None else _decode(cursor, _CHATS, bound, secret)
        options = self._options()
        with self._scope(write=False, user_id=user_id) as repos:
            _check_config(repos, options.config)
            found = repos.search.chats(
                query, user_id=user_id, limit=limit + 1, after=after, options=options
            )
        next_cursor = None
        if len(found) > limit:
            found = found[:limit]
            chat, score = found[-1]
            next_cursor = _encode(_CHATS, SearchKey(score, chat.id), bound, secret)
        return Page[ChatRead](items=[chat for chat, _score in found], next_cursor=next_cursor)


def _check_query(query: object) -> None:
    check_text(query, "query", max_chars=MAX_QUERY_CHARS)
    if query is None:
        raise InvalidInputError("query must be a string, not None", field="query")


def _check_config(repos: Repositories, config: str) -> None:
    if not repos.search.config_exists(config):
        raise InvalidInputError(
            f"the database has no text search configuration {config!r} "
            "(ServiceConfig.search_config); run the migrations, or name another",
            field="search_config",
        )


def _encode(
    kind: str, key: SearchKey, bound: tuple[str, str | None, str], secret: bytes | None
) -> str:
    return encode_cursor(kind, (repr(key.score), str(key.id)), bound=bound, secret=secret)


def _decode(
    cursor: object, kind: str, bound: tuple[str, str | None, str], secret: bytes | None
) -> SearchKey:
    """The position a search cursor holds, every value checked."""
    score, key = decode_cursor(cursor, kind, 2, bound=bound, secret=secret)
    if not isinstance(score, str) or not isinstance(key, str) or len(score) > 40 or len(key) > 64:
        raise invalid_cursor()
    try:
        value = float(score)
        key_id = uuid.UUID(key)
    except ValueError:
        raise invalid_cursor() from None
    if not math.isfinite(value):
        raise invalid_cursor()
    return SearchKey(value, key_id)
