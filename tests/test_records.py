"""`@record` behaves as `@dataclass` does, wherever carctl relies on it."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import field
from pathlib import Path
from typing import Any, ClassVar

import pytest

import carctl
from carctl.records import record


def both(frozen: bool = False) -> list[Any]:
    """The same class made by each decorator: the tests compare the two."""
    made = []
    for decorate in (dataclasses.dataclass(frozen=frozen), record(frozen=frozen)):

        class Session:
            KIND: ClassVar[str] = "session"
            account: str
            token: str = field(default="", repr=False)
            scopes: list[str] = field(default_factory=list)
            note: str = field(default="", compare=False)

        made.append(decorate(Session))
    return made


@pytest.mark.parametrize("frozen", [False, True])
def test_a_record_is_built_compared_and_shown_as_a_dataclass_is(frozen: bool) -> None:
    for cls in both(frozen):
        one = cls("owner@example.com", "s3cret-token", ["vehicle_cmds"], note="a")
        assert one.scopes == ["vehicle_cmds"] and one.token == "s3cret-token"
        assert "s3cret-token" not in repr(one)  # repr=False keeps a secret out of a repr
        assert repr(one).endswith(
            "Session(account='owner@example.com', scopes=['vehicle_cmds'], note='a')"
        )
        assert one == cls("owner@example.com", "s3cret-token", ["vehicle_cmds"], note="b")
        assert one != cls("other@example.com", "s3cret-token", ["vehicle_cmds"])
        assert cls("x").scopes is not cls("x").scopes  # a factory per instance
        assert [f.name for f in dataclasses.fields(one)] == ["account", "token", "scopes", "note"]
        assert dataclasses.asdict(one)["scopes"] == ["vehicle_cmds"]
        assert dataclasses.replace(one, account="b@example.com").account == "b@example.com"
        assert dataclasses.is_dataclass(one)
        assert cls.KIND == "session" and "KIND" not in dataclasses.fields(one)
        assert cls.token == ""  # the class keeps the default, not the field's spec
        assert not hasattr(cls, "scopes")


def test_frozen_records_refuse_changes_and_hash_by_their_compared_fields() -> None:
    plain, cheap = both(frozen=True)
    for cls in (plain, cheap):
        one = cls("a", scopes=())  # type: ignore[arg-type]
        with pytest.raises(dataclasses.FrozenInstanceError):
            one.account = "b"
        with pytest.raises(dataclasses.FrozenInstanceError):
            del one.account
        assert hash(one) == hash(cls("a", scopes=(), note="other"))  # type: ignore[arg-type]
    mutable = both(frozen=False)[1]
    assert mutable.__hash__ is None  # eq without frozen: unhashable, as with dataclass
    one = mutable("a")
    one.account = "b"
    assert one.account == "b"


@pytest.mark.parametrize("decorate", [dataclasses.dataclass, record])
def test_wrong_arguments_fail_as_they_do_for_a_dataclass(decorate: Any) -> None:
    @decorate
    class Point:
        x: int
        y: int = 0

    assert Point(1) == Point(1, 0) == Point(x=1)
    with pytest.raises(TypeError, match="missing"):
        Point()
    with pytest.raises(TypeError, match="positional"):
        Point(1, 2, 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)
    with pytest.raises(TypeError, match="multiple values"):
        Point(1, x=2)
    with pytest.raises(TypeError, match="non-default argument"):

        @decorate
        class Wrong:
            x: int = 0
            y: int

    with pytest.raises(ValueError, match="mutable default"):

        @decorate
        class Shared:
            items: list[int] = []  # noqa: RUF012


def test_inherited_fields_post_init_and_own_methods() -> None:
    @record(frozen=True)
    class Base:
        a: int

    @record(frozen=True)
    class Child(Base):
        b: int = 2

        def __repr__(self) -> str:
            return "mine"

    @record
    class Checked:
        n: int
        doubled: int = field(init=False, default=0)

        def __post_init__(self) -> None:
            self.doubled = self.n * 2

    child = Child(1)
    assert (child.a, child.b) == (1, 2) and repr(child) == "mine"
    assert [f.name for f in dataclasses.fields(child)] == ["a", "b"]
    assert Child.__match_args__ == ("a", "b")
    assert Checked(4).doubled == 8
    with pytest.raises(TypeError, match="unexpected keyword argument 'doubled'"):
        Checked(1, doubled=3)  # type: ignore[call-arg]


def test_carctl_defines_its_classes_as_records() -> None:
    """`@dataclass` generates code at import (~0.6 ms a class, every start); the mock, a
    server started once, may keep it."""
    package = Path(carctl.__file__).parent
    found = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "mock" not in path.relative_to(package).parts
        and re.search(r"^@(dataclasses\.)?dataclass\b", path.read_text(), re.MULTILINE)
    ]
    assert found == [], f"use @record (carctl/records.py) in {found}"
