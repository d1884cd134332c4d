"""Strict conformance of a rendered request to an SDK's request TypedDicts.

pydantic validates TypedDicts but ignores unknown keys, and validates
``Iterable[...]`` fields lazily (not at all until consumed), so a wrong key
or a malformed block deep in a message would pass it. :func:`mismatches`
walks the type and the value together: every dict must be one of the
TypedDicts the type allows, with its required keys and no unknown ones,
every literal one of its values, every list item conforming. SDK response
models (pydantic ``BaseModel`` classes, which some request unions also
accept) never match: a request must be made of param dicts.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from functools import cache
from typing import Any

import pydantic
from typing_extensions import NotRequired, Required, get_type_hints, is_typeddict

_LISTS = {list, collections.abc.Iterable, collections.abc.Sequence, collections.abc.Collection}
_MAPS = {dict, collections.abc.Mapping}


@cache
def _hints(tp: type) -> dict[str, Any]:
    hints: dict[str, Any] = get_type_hints(tp, include_extras=True)
    return hints


@cache
def _required(tp: Any) -> frozenset[str]:
    """The required keys, read from the annotations themselves: with
    ``from __future__ import annotations`` (as the SDKs write them),
    ``__required_keys__`` does not see ``Required[...]``."""
    keys = set()
    for key, hint in _hints(tp).items():
        origin = typing.get_origin(hint)
        if origin is typing.Annotated:
            origin = typing.get_origin(typing.get_args(hint)[0])
        if origin is Required or (tp.__total__ and origin is not NotRequired):
            keys.add(key)
    return frozenset(keys)


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) in (Required, NotRequired, typing.Annotated):
        tp = typing.get_args(tp)[0]
    return tp


def mismatches(tp: Any, value: Any, path: str = "$") -> list[str]:
    """What in ``value`` does not conform to ``tp`` (empty when it does)."""
    tp = _unwrap(tp)
    origin = typing.get_origin(tp)
    if tp is Any or tp is object:
        return []
    if tp is type(None) or tp is None:
        return [] if value is None else [f"{path}: expected null, got {value!r}"]
    if origin in (typing.Union, types.UnionType):
        tried = []
        for option in typing.get_args(tp):
            errors = mismatches(option, value, path)
            if not errors:
                return []
            tried.append(errors)
        # the option whose "type" matched, with the fewest errors, explains it best
        return min(
            tried,
            key=lambda errors: (
                any(".type:" in e for e in errors),
                len(errors),
                -max(len(e.partition(": ")[0]) for e in errors),
            ),
        )
    if origin is typing.Literal:
        return [] if value in typing.get_args(tp) else [f"{path}: {value!r} not in {tp}"]
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected a {tp.__name__} dict, got {type(value).__name__}"]
        hints = _hints(tp)
        errors = [
            f"{path}: unknown key {key!r} in {tp.__name__}" for key in value if key not in hints
        ]
        errors += [
            f"{path}: missing key {key!r} of {tp.__name__}"
            for key in _required(tp)
            if key not in value
        ]
        for key, item in value.items():
            if key in hints:
                errors += mismatches(hints[key], item, f"{path}.{key}")
        return errors
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return [f"{path}: a response model ({tp.__name__}), not a request param"]
    if origin in _LISTS or tp in _LISTS:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        (item_type,) = typing.get_args(tp) or (Any,)
        return [
            e for i, item in enumerate(value) for e in mismatches(item_type, item, f"{path}[{i}]")
        ]
    if origin in _MAPS or tp in _MAPS:
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        _, value_type = typing.get_args(tp) or (str, Any)
        return [e for k, v in value.items() for e in mismatches(value_type, v, f"{path}.{k}")]
    if tp is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected a bool, got {value!r}"]
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected an int, got {value!r}"]
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if tp is str:
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {value!r}"]
    return [f"{path}: {tp} does not describe JSON ({value!r})"]


def assert_conforms(tp: Any, value: Any) -> None:
    """pydantic validates ``value`` as ``tp`` and :func:`mismatches` finds nothing."""
    pydantic.TypeAdapter(tp).validate_python(value)
    errors = mismatches(tp, value)
    assert not errors, "\n".join(errors)
