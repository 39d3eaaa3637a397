"""Checks of JSON values against scalar field types, and the FieldErrors the codec's hooks raise.

The generated hooks (:mod:`actors.protocol.hook_source`) test ``type(v) is T`` inline and call
these only when that fast test fails: each converts what the wire form allows (an int where a
float belongs, a whole float where an int belongs) or raises :class:`FieldError`.
"""

from __future__ import annotations

from typing import Any, NoReturn

from actors.errors import ActorsError, FieldError, OptionsError, ProtocolError

__all__ = [
    "SCALARS",
    "bad",
    "conv_any",
    "conv_bool",
    "conv_float",
    "conv_int",
    "conv_none",
    "conv_str",
    "describe",
    "fail_object",
    "missing",
    "out_int",
    "refusal",
    "set_checked",
]


def describe(value: Any) -> str:
    """``value``'s type and (shortened) repr, for error messages: ``str 'soon'``."""
    text = repr(value)
    if len(text) > 60:
        text = text[:60] + "..."
    return f"{type(value).__name__} {text}"


def bad(expected: str, value: Any) -> FieldError:
    """The FieldError (no path yet) for ``value`` where ``expected`` belongs."""
    return FieldError(f"expected {expected}, got {describe(value)}")


def missing(name: str) -> FieldError:
    """The FieldError for the required field ``name`` absent from an object."""
    return FieldError("required field is missing", [name])


def refusal(error: Exception) -> FieldError:
    """A FieldError (no path yet) for a non-FieldError ``error`` refusing a value.

    Raised by an attrs validator (the provider families' unknown classes refuse a ``type`` they
    model with an OptionsError) or by a user's cattrs hook inside a union.
    """
    if isinstance(error, OptionsError):
        return FieldError(str(error).removeprefix(f"{error.name}: "))
    if isinstance(error, ActorsError):
        return FieldError(str(error))
    return FieldError(f"{type(error).__name__}: {error}")


def set_checked(obj: Any, name: str, value: Any, key: str) -> None:
    """``obj.name = value`` for a field with an attrs validator: a refusal is a FieldError at ``key``."""
    try:
        setattr(obj, name, value)
    except FieldError as e:
        e.path.insert(0, key)
        raise
    except Exception as e:
        refused = refusal(e)
        refused.path.insert(0, key)
        raise refused from None


def conv_str(v: Any) -> str:
    """``v`` if it is a string, else FieldError."""
    if type(v) is not str:
        raise bad("a string", v)
    return v


def conv_bool(v: Any) -> bool:
    """``v`` if it is a boolean, else FieldError."""
    if type(v) is not bool:
        raise bad("a boolean", v)
    return v


def conv_int(v: Any) -> int:
    """``v`` as an int (a whole float accepted; never a bool), else FieldError."""
    if type(v) is int:
        return v
    if type(v) is float and v.is_integer():
        return int(v)
    raise bad("an integer", v)


def conv_float(v: Any) -> float:
    """``v`` as a float (an int accepted; never a bool), else FieldError."""
    if type(v) is float:
        return v
    if type(v) is int:
        return float(v)
    raise bad("a number", v)


def conv_any(v: Any) -> Any:
    """``v`` unchanged (a field typed ``Any``)."""
    return v


def conv_none(v: Any) -> None:
    """None if ``v`` is null, else FieldError."""
    if v is not None:
        raise bad("null", v)
    return None


def fail_object(v: Any) -> NoReturn:
    """Raise the FieldError for ``v`` where an object belongs."""
    raise bad("an object", v)


def out_int(v: Any) -> Any:
    """An int field's value for the wire (a whole float as an int); ProtocolError if not an integer."""
    if type(v) is int:
        return v
    if type(v) is float and v.is_integer():
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return int(v)
    raise ProtocolError(f"expected an integer, got {describe(v)}")


#: Scalar field types checked inline: ``type(v) is T`` is the fast test, the function (by its name
#: in the generated code, and itself) converts or raises otherwise.
SCALARS: dict[Any, tuple[str, str, Any]] = {
    str: ("str", "_conv_str", conv_str),
    bool: ("bool", "_conv_bool", conv_bool),
    int: ("int", "_conv_int", conv_int),
    float: ("float", "_conv_float", conv_float),
}
