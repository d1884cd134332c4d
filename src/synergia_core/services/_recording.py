"""Recording a provider's stream as a reply, while handing it through.

:meth:`RecordingMethods.record_stream` starts the reply, feeds every event
to the provider format's accumulator, writes the text and reasoning deltas
in batches (at most one write per ``flush_interval`` seconds or
``flush_chars`` characters, never one per token), and finishes the reply
with the accumulator's parts, usage and metadata. An exception from the
stream marks the reply ``failed`` (the partial text kept) and re-raises; a
consumer that stops early (``close()``, a client gone) marks it
``cancelled``. The async face (``AsyncMessageService.record_stream``) runs
the same :class:`Recorder` with awaited writes.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Generator, Iterable
from typing import Any, TypeVar

from synergia_core.errors import InvalidInputError
from synergia_core.providers import MODULES, StreamAccumulator, get_format
from synergia_core.schemas import MessageStatus
from synergia_core.services._base import Service
from synergia_core.services._checks import check_user_id, to_uuid
from synergia_core.services._streaming import MAX_ERROR_CHARS, StreamingMethods

__all__ = ["Recorder", "RecordingMethods", "StreamFailedError", "error_text"]

logger = logging.getLogger(__name__)

E = TypeVar("E")


class StreamFailedError(Exception):
    """A provider stream that reported a failure in an event (it is stored
    as the reply's error without this class's name)."""


def error_text(exc: BaseException) -> str:
    """What a failed reply stores as its error: the exception, one line,
    storable (no NUL, no lone surrogate), at most 10,000 characters."""
    if isinstance(exc, StreamFailedError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text[:MAX_ERROR_CHARS]


class Recorder:
    """The bookkeeping of one recorded stream: what to write, and when.

    Args:
        accumulator: The provider format's accumulator.
        flush_interval: Seconds between writes of buffered deltas, at most.
        flush_chars: Buffered characters that trigger a write.
    """

    def __init__(
        self, accumulator: StreamAccumulator, flush_interval: float, flush_chars: int
    ) -> None:
        self.accumulator = accumulator
        self._interval = flush_interval
        self._chars = flush_chars
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._buffered = 0
        self._last = time.monotonic()

    def feed(self, event: object) -> bool:
        """Take one event; ``True`` when the buffer should be written now.

        Raises:
            InvalidInputError: The event is not one of the format's events.
        """
        try:
            text, reasoning = self.accumulator.feed(event)
        except Exception as exc:
            raise InvalidInputError(
                f"not an event of this stream format ({type(event).__name__}): {exc}",
                field="stream",
            ) from exc
        if text:
            self._text.append(text)
        if reasoning:
            self._reasoning.append(reasoning)
        self._buffered += len(text) + len(reasoning)
        if not self._buffered:
            return False
        return self._buffered >= self._chars or time.monotonic() - self._last >= self._interval

    def take(self) -> tuple[str, str] | None:
        """The buffered (text, reasoning) to write, emptying the buffer;
        ``None`` when there is nothing."""
        self._last = time.monotonic()
        if not self._buffered:
            return None
        taken = "".join(self._text), "".join(self._reasoning)
        self._text.clear()
        self._reasoning.clear()
        self._buffered = 0
        return taken


def check_recording(format: object, flush_interval: object, flush_chars: object) -> None:
    """Refuse bad arguments before anything is written.

    Raises:
        InvalidInputError: An unknown format, or flush settings out of range.
    """
    if not isinstance(format, str) or format not in MODULES:
        raise InvalidInputError(
            f"unknown stream format {format!r}; use one of {', '.join(MODULES)}", field="format"
        )
    if (
        isinstance(flush_interval, bool)
        or not isinstance(flush_interval, (int, float))
        or not math.isfinite(flush_interval)
        or flush_interval < 0
    ):
        raise InvalidInputError("flush_interval must be a number of seconds >= 0", "flush_interval")
    if isinstance(flush_chars, bool) or not isinstance(flush_chars, int) or flush_chars < 1:
        raise InvalidInputError("flush_chars must be a positive integer", "flush_chars")


class RecordingMethods(StreamingMethods, Service):
    """Recording provider streams (mixed into MessageService)."""

    def record_stream(
        self,
        chat_id: uuid.UUID | str,
        stream: Iterable[E],
        *,
        user_id: str,
        model_id: uuid.UUID | str | None,
        format: str,
        parent_id: uuid.UUID | str | None = None,
        flush_interval: float = 0.25,
        flush_chars: int = 2048,
    ) -> Generator[E, None, None]:
        """Record a provider stream as an assistant reply, handing every
        event through unchanged::

            stream = client.chat.completions.create(..., stream=True,
                                                    stream_options={"include_usage": True})
            for chunk in sy.messages.record_stream(chat.id, stream, user_id="alice",
                                                   model_id=gpt.id, format="openai"):
                send(chunk)

        The reply is started (as :meth:`start` does: under the current leaf,
        or ``parent_id``) when the first event is asked for. Text and
        reasoning deltas are written in batches: at most one write per
        ``flush_interval`` seconds or ``flush_chars`` characters. At the end
        the reply is finished with the whole reply as parts (reasoning with
        its signature, text, tool calls with their assembled arguments), the
        stream's usage (split reports merged) and cost, and the stream's
        metadata (response id, model, finish reason) under the provider's key.
        An exception from the stream marks the reply ``failed``, keeping the
        partial text, and is re-raised; a stream that reports its failure in
        an event (a Responses ``response.failed``) marks it ``failed`` with
        that error; closing the generator early (a client gone) marks it
        ``cancelled``.

        Args:
            chat_id: The chat.
            stream: The provider's stream (SDK events or their dicts).
            user_id: The chat's owner.
            model_id: The model that answers (``None``: the chat's model).
            format: ``"openai"`` (Chat Completions chunks),
                ``"openai-responses"`` (Responses events), ``"anthropic"``
                (Messages stream events) or ``"gemini"``.
            parent_id: Where to place the reply (default: the current leaf).
            flush_interval: Seconds between writes of buffered deltas, at most.
            flush_chars: Buffered characters that trigger a write.

        Raises:
            InvalidInputError: An unknown ``format`` or bad flush settings
                (at the call), or anything :meth:`start` raises (at the first
                event).
        """
        check_user_id(user_id)
        to_uuid(chat_id, "chat_id")
        check_recording(format, flush_interval, flush_chars)
        recorder = Recorder(get_format(format).stream(), float(flush_interval), flush_chars)
        return self._record(chat_id, stream, recorder, user_id, model_id, parent_id)

    def _record(
        self,
        chat_id: uuid.UUID | str,
        stream: Iterable[E],
        recorder: Recorder,
        user_id: str,
        model_id: uuid.UUID | str | None,
        parent_id: uuid.UUID | str | None,
    ) -> Generator[E, None, None]:
        reply = self.start(chat_id, user_id=user_id, model_id=model_id, parent_id=parent_id)

        def flush() -> None:
            taken = recorder.take()
            if taken is not None:
                self._append(reply.id, user_id, *taken)

        try:
            for event in stream:
                if recorder.feed(event):
                    flush()
                yield event
        except GeneratorExit:
            self._end(reply.id, user_id, recorder, flush, None)
            raise
        except BaseException as exc:
            self._end(reply.id, user_id, recorder, flush, exc)
            raise
        accumulator = recorder.accumulator
        failure = accumulator.error()
        if failure is not None:  # the stream reported a failure instead of raising
            self._end(reply.id, user_id, recorder, flush, StreamFailedError(failure))
            return
        try:
            self._close(
                reply.id,
                user_id,
                MessageStatus.complete,
                accumulator.usage(),
                {},
                accumulator.parts(),
                accumulator.metadata(),
                replace=True,
            )
        except BaseException as exc:
            self._end(reply.id, user_id, recorder, flush, exc)
            raise

    def _end(
        self,
        reply_id: uuid.UUID,
        user_id: str,
        recorder: Recorder,
        flush: Any,
        error: BaseException | None,
    ) -> None:
        """Keep what was streamed, then mark the reply cancelled (``error``
        ``None``) or failed. A failure to do so is logged, never raised over
        the stream's own exception."""
        usage = _usage_or_none(recorder.accumulator)
        try:
            flush()
        except Exception:
            logger.warning("could not write the end of stream %s", reply_id, exc_info=True)
        try:
            if error is None:
                self.cancel(reply_id, user_id=user_id, usage=usage)
            else:
                self.fail(reply_id, error_text(error), user_id=user_id, usage=usage)
        except Exception:
            logger.warning("could not close stream %s", reply_id, exc_info=True)


def _usage_or_none(accumulator: StreamAccumulator) -> Any:
    try:
        return accumulator.usage()
    except Exception:  # a half-reported usage: record none rather than fail twice
        return None
