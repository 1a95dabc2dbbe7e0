"""Command-line options generated from the frozen config dataclasses (every command uses this).

Field ``max_length`` becomes ``--max-length`` (``prefix="ppo_"``: ``--ppo-clip``), its
type comes from the annotation (``int``, ``float``, ``str``, ``bool`` as
``--x/--no-x``, ``Literal[...]`` as choices, ``X | None`` as X), its help from the
docstring under the field. Fields of other types (programs, tuples, nested configs) are
not options. Every option defaults to None, meaning "not given", so the config's own
default applies and a command can tell what was given (``--resume`` keeps a run's settings;
``--all`` applies to one search method only). Values are checked by the config's
``__post_init__`` alone; ``Options.describe`` writes a ``ConfigError`` with the option in
place of the field.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import itertools
import re
import textwrap
import types
import typing

from discover.validation import ConfigError

_SCALARS = (int, float, str, bool)
_RESERVED = {"command", "run", "options"}  # attributes the parser itself sets on args


@functools.cache
def field_docs(cls) -> dict[str, str]:
    """The docstring under each field of a dataclass (and its dataclass bases), from the source.

    Python keeps no docstring for a class attribute; the string literal after a field is
    only in the source, so it is parsed here, once per class (``{}`` when the source is
    not available).
    """
    docs = {}
    for base in cls.__mro__[1:]:
        if dataclasses.is_dataclass(base):
            docs.update(field_docs(base))
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return docs
    body = tree.body[0].body
    for node, after in itertools.pairwise(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) \
                and isinstance(after.value.value, str):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def _scalar_type(annotation):
    """(python type, choices or None) of a field, or None when it is not an option."""
    if isinstance(annotation, str):  # unresolved: the plain spellings only
        annotation = {"int": int, "float": float, "str": str, "bool": bool, "int | None": int,
                      "float | None": float, "str | None": str}.get(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _scalar_type(rest[0]) if len(rest) == 1 else None
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        return type(choices[0]), choices
    if annotation in _SCALARS:
        return annotation, None
    return None


def _hints(cls) -> dict:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - a name the module imports lazily: fall back to strings
        return {}


@dataclasses.dataclass
class _Option:
    flag: str
    dest: str
    kind: type
    action: argparse.Action | None = None
    fields: list = dataclasses.field(default_factory=list)  # (class, field name)


class Options:
    """The generated options of one parser; builds the config objects back from them."""

    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser
        self.by_flag: dict[str, _Option] = {}
        self.by_field: dict[tuple[type, str], _Option] = {}
        parser.set_defaults(options=self)

    def add(self, cls, *, prefix: str = "", skip=(), rename=None, metavars=None,
            group=None, label: str | None = None) -> None:
        """Add an option per scalar field of ``cls`` (except ``skip``).

        ``rename`` maps a field to another option name (``{"tie_break": "cost"}``); a name
        that is already an option (``--seed`` of two configs) is shared: one option, its
        value goes to both fields, and its help lists both (prefixed by ``label``).
        """
        rename, metavars = rename or {}, metavars or {}
        hints, docs = _hints(cls), field_docs(cls)
        target = group if group is not None else self.parser.add_argument_group(cls.__name__)
        for f in dataclasses.fields(cls):
            scalar = _scalar_type(hints.get(f.name, f.type))
            if f.name in skip or scalar is None:
                continue
            kind, choices = scalar
            name = prefix + rename.get(f.name, f.name)
            flag = "--" + name.replace("_", "-")
            doc = (f"{label}: " if label else "") + docs.get(f.name, "")
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            option = self.by_flag.get(flag)
            if option is None:
                if name in _RESERVED:
                    raise TypeError(f"{cls.__name__}.{f.name}: {name!r} is taken by the parser")
                if not required:
                    default = f.default if f.default is not dataclasses.MISSING \
                        else f.default_factory()
                    if kind is bool:
                        doc += f" (default {'on' if default else 'off'})"
                    elif default is not None:
                        doc += f" (default {default})"
                option = _Option(flag, name, kind)
                kwargs = {"dest": name, "default": None, "help": doc.replace("%", "%%")}
                if kind is bool:
                    kwargs["action"] = argparse.BooleanOptionalAction
                else:
                    kwargs.update(type=kind, choices=choices, required=required,
                                  metavar=metavars.get(f.name, None if choices else
                                                       {int: "INT", float: "NUMBER",
                                                        str: "TEXT"}[kind]))
                option.action = target.add_argument(flag, **kwargs)
                self.by_flag[flag] = option
            elif option.kind is not kind:
                raise TypeError(f"{flag}: {cls.__name__}.{f.name} is a {kind.__name__}, "
                                f"shared with a {option.kind.__name__}")
            elif doc and doc not in (option.action.help or ""):
                option.action.help = f"{option.action.help}; {doc.replace('%', '%%')}"
            option.fields.append((cls, f.name))
            self.by_field[(cls, f.name)] = option

    def values(self, args, cls) -> dict:
        """The given (not None) option values of ``cls``'s fields, by field name."""
        given = {}
        for (owner, name), option in self.by_field.items():
            if owner is cls and getattr(args, option.dest, None) is not None:
                given[name] = getattr(args, option.dest)
        return given

    def build(self, args, cls, **fields):
        """``cls(**given options, **fields)``; its ConfigError propagates (``describe`` it)."""
        return cls(**{**self.values(args, cls), **fields})

    def given(self, args) -> list[_Option]:
        """The options given on the command line, in the order they were added."""
        return [o for o in self.by_flag.values() if getattr(args, o.dest, None) is not None]

    def flag(self, cls, name: str) -> str | None:
        """The option of a field; None if the field is not one."""
        option = self.by_field.get((cls, name))
        return option.flag if option is not None else None

    def describe(self, error: ConfigError) -> str:
        """The error in command-line words: options in place of field names (when they are)."""
        flag = self.flag(error.owner, error.field)
        if flag is None:
            return str(error)
        problem = error.problem
        for name in error.related:
            other = self.flag(error.owner, name)
            if other is not None:
                problem = re.sub(rf"\b{re.escape(name)}\b", other, problem)
        return f"{flag} {problem}"
