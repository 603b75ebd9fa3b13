"""Plain conversion of command-line values, so a command run imports what it needs and no more.

typer >= 0.2x converts every option value through a pydantic ``TypeAdapter``: importing pydantic
costs ~0.15 CPU-s per process (every small `shard` and every Ray task). zooprep's options are
``str``/``int``/``float``/``bool``/``Path``, optional or as lists; :func:`install` converts
those as click does. Anything else (choices, ranges, files, dates, custom parsers), and typer
versions without this hook, keep typer's own conversion.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

_NAMES = {int: "integer", float: "float", str: "text", Path: "path"}


def _path(value) -> Path:
    return value if isinstance(value, Path) else Path(value)


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes", "y", "on"):
        return True
    if text in ("0", "false", "f", "no", "n", "off"):
        return False
    raise ValueError(value)


def _number(kind):
    def convert(value):
        if isinstance(value, bool):  # pydantic refuses bools for numbers too
            raise ValueError(value)
        if isinstance(value, kind):
            return value
        if kind is int and isinstance(value, float):
            if not value.is_integer():
                raise ValueError(value)
            return int(value)
        return kind(value.strip() if isinstance(value, str) else value)
    return convert


_CONVERT: dict[Any, Callable] = {str: str, int: _number(int), float: _number(float), bool: _bool, Path: _path}


def plain_converter(descriptor) -> tuple[Callable, bool, str] | None:
    """(convert one value, takes a list, type name) for a plain annotation; None for the rest."""
    info = descriptor.parameter_info
    special = (descriptor.is_file, descriptor.is_choice, descriptor.is_ranged, descriptor.is_datetime,
               descriptor.is_tuple, getattr(info, "parser", None), getattr(info, "click_type", None),
               getattr(info, "exists", False), getattr(info, "resolve_path", False))
    if any(special):
        return None
    annotation, many = descriptor.annotation, False
    if typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            return None
        annotation = args[0]
    if typing.get_origin(annotation) is list:
        (annotation,) = typing.get_args(annotation) or (None,)
        many = True
    convert = _CONVERT.get(annotation)
    return None if convert is None else (convert, many, _NAMES.get(annotation, "value"))


def install() -> None:
    """Route typer's plain parameters through :func:`plain_converter` (no-op where typer has no such hook)."""
    try:
        from typer import _coercion, core
        from typer._click.exceptions import BadParameter
    except ImportError:
        return
    param_cls, base = getattr(core, "_TyperParameter", None), getattr(_coercion, "RuntimeParam", None)
    if param_cls is None or base is None or getattr(param_cls, "_zooprep_plain", False):
        return
    original = param_cls.get_runtime_param

    @dataclass(frozen=True)
    class PlainRuntimeParam(base):
        convert: Callable = str
        many: bool = False
        type_name: str = "value"

        def _coerce_value(self, value, param, ctx):
            try:
                if self.many:
                    return [self.convert(v) for v in value]
                return self.convert(value)
            except (TypeError, ValueError):
                bad = value if not self.many else next((v for v in value if not _ok(self.convert, v)), value)
                raise BadParameter(f"{bad!r} is not a valid {self.type_name}.", ctx=ctx, param=param) from None

    def get_runtime_param(self):
        if self._runtime_param is None:
            plain = plain_converter(self.type_descriptor)
            if plain is not None:
                self._runtime_param = PlainRuntimeParam(parameter_info=self.type_descriptor.parameter_info,
                                                        annotation=self.type_descriptor.annotation,
                                                        convert=plain[0], many=plain[1], type_name=plain[2])
        return original(self)

    param_cls.get_runtime_param = get_runtime_param
    param_cls._zooprep_plain = True


def _ok(convert, value) -> bool:
    try:
        convert(value)
        return True
    except (TypeError, ValueError):
        return False
