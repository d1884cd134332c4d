"""What the three framework integrations check the same way."""

from __future__ import annotations

from synergia_core.errors import InvalidInputError
from synergia_core.store import Synergia

__all__ = ["is_async"]


def is_async(sy: object) -> bool:
    """Whether ``sy`` is an ``AsyncSynergia`` (``False``: a ``Synergia``).

    Raises:
        InvalidInputError: ``sy`` is neither (``field="sy"``).
    """
    if isinstance(sy, Synergia):
        return False
    try:
        from synergia_core import AsyncSynergia
    except ImportError:  # without the 'async' extra there can be no AsyncSynergia
        pass
    else:
        if isinstance(sy, AsyncSynergia):
            return True
    raise InvalidInputError(
        f"sy must be a Synergia or an AsyncSynergia, not {type(sy).__name__}", field="sy"
    )
