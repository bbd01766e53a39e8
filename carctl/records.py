"""`@record`: what `@dataclass` means, without its cost at import.

`@dataclass` writes Python source for each class's `__init__`, `__repr__`,
`__eq__` (and, frozen, `__setattr__`, `__delattr__`, `__hash__`) and compiles
it with `exec` when the module is imported: about 0.6 ms a class. A piped
`carctl climate on` defines some forty classes before it sends anything, so a
script's one command paid ~25 ms for code generation it could not use.
`record` makes the same classes — the same fields, defaults and factories,
`repr=False` and `compare=False`, frozen instances, hashing, `__post_init__`,
fields inherited from a base record — with methods shared by every record that
read the class's field list when called. The fields are dataclasses' own
`Field` objects, so `dataclasses.fields`, `asdict`, `replace` and
`is_dataclass` work on records unchanged, and type checkers read `record` as
`dataclass` (PEP 681).

The price moves to each instance (a loop over the fields instead of generated
straight-line code: microseconds), which a command that builds tens of objects
never notices; the queue builds one per entry it reads, and its benchmark
(`benchmarks/queue_scale.py`) is where that would show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)
MISSING: Any = dataclasses.MISSING
_MUTABLE = (list, dict, set)


@overload
def record(cls: T, /) -> T: ...


@overload
def record(*, frozen: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: T | None = None, /, *, frozen: bool = False) -> T | Callable[[T], T]:
    """Make `cls` a dataclass (frozen if asked) the cheap way; see the module's docstring."""

    def wrap(cls: T) -> T:
        return _build(cls, frozen)

    return wrap if cls is None else wrap(cls)


def _build(cls: T, frozen: bool) -> T:
    fields: dict[str, dataclasses.Field[Any]] = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(getattr(base, "__dataclass_fields__", {}))
    own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - inspect costs ms to import
    for name, annotation in own.items():
        if _is_class_var(annotation):
            continue
        fields[name] = _field(cls, name, annotation)
    _check_order(cls, fields)
    init = tuple(f for f in fields.values() if f.init)
    cls.__dataclass_fields__ = fields  # type: ignore[attr-defined]
    cls.__match_args__ = tuple(f.name for f in init)  # type: ignore[attr-defined,misc]
    _add(cls, "__init__", _init)
    _add(cls, "__repr__", _repr)
    _add(cls, "__eq__", _eq)
    if frozen:
        _add(cls, "__setattr__", _frozen_setattr)
        _add(cls, "__delattr__", _frozen_delattr)
    own_hash = cls.__dict__.get("__hash__", MISSING)
    explicit = not (own_hash is MISSING or (own_hash is None and "__eq__" in cls.__dict__))
    if not explicit:  # dataclasses' rule with eq=True: hashable when frozen, else not at all
        cls.__hash__ = _hash if frozen else None  # type: ignore[assignment,method-assign]
    cls.__record_frozen__ = frozen  # type: ignore[attr-defined]
    return cls


def _field(cls: type, name: str, annotation: Any) -> dataclasses.Field[Any]:
    default = cls.__dict__.get(name, MISSING)
    spec: dataclasses.Field[Any] = (
        default if isinstance(default, dataclasses.Field) else dataclasses.field(default=default)
    )
    if isinstance(spec.default, _MUTABLE):
        raise ValueError(
            f"mutable default {type(spec.default)} for field {name} is not allowed: "
            "use default_factory"
        )
    spec.name = name
    spec.type = annotation
    spec._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
    if isinstance(default, dataclasses.Field):  # the class keeps the default, not the spec
        if spec.default is MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, spec.default)
    return spec


def _is_class_var(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    import typing

    return annotation is typing.ClassVar or typing.get_origin(annotation) is typing.ClassVar


def _check_order(cls: type, fields: dict[str, dataclasses.Field[Any]]) -> None:
    defaulted = False
    for spec in fields.values():
        if not spec.init:
            continue
        has_default = spec.default is not MISSING or spec.default_factory is not MISSING
        if defaulted and not has_default:
            raise TypeError(f"non-default argument {spec.name!r} follows default argument")
        defaulted = defaulted or has_default


def _add(cls: type, name: str, method: Any) -> None:
    if name not in cls.__dict__:  # a method the class writes itself wins, as with dataclass
        setattr(cls, name, method)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    fields = cls.__dataclass_fields__.values()
    init = [f for f in fields if f.init]
    if len(args) > len(init):
        raise TypeError(
            f"{cls.__name__}.__init__() takes {len(init) + 1} positional arguments "
            f"but {len(args) + 1} were given"
        )
    values = {f.name: value for f, value in zip(init, args, strict=False)}
    for name, value in kwargs.items():
        if name in values:
            raise TypeError(f"{cls.__name__}.__init__() got multiple values for argument {name!r}")
        if name not in cls.__dataclass_fields__ or not cls.__dataclass_fields__[name].init:
            raise TypeError(
                f"{cls.__name__}.__init__() got an unexpected keyword argument {name!r}"
            )
        values[name] = value
    for spec in fields:
        if spec.name in values:
            value = values[spec.name]
        elif spec.default is not MISSING:
            value = spec.default
        elif spec.default_factory is not MISSING:
            value = spec.default_factory()
        else:
            raise TypeError(
                f"{cls.__name__}.__init__() missing 1 required positional argument: {spec.name!r}"
            )
        object.__setattr__(self, spec.name, value)
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


def _repr(self: Any) -> str:
    shown = (f for f in type(self).__dataclass_fields__.values() if f.repr)
    inside = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in shown)
    return f"{type(self).__qualname__}({inside})"


def _compared(self: Any) -> tuple[Any, ...]:
    fields = type(self).__dataclass_fields__.values()
    return tuple(getattr(self, f.name) for f in fields if f.compare)


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hash(self: Any) -> int:
    fields = type(self).__dataclass_fields__.values()
    return hash(
        tuple(getattr(self, f.name) for f in fields if (f.compare if f.hash is None else f.hash))
    )


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    if type(self).__record_frozen__ or name in type(self).__dataclass_fields__:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    if type(self).__record_frozen__ or name in type(self).__dataclass_fields__:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
    object.__delattr__(self, name)
