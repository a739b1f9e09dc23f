"""The registry's exceptions (no heavy imports: the command line raises them before pint loads)."""

from __future__ import annotations

__all__ = ["RegistryError", "RegistryLoadError", "RegistryLookupError", "PrecisionError",
           "FieldError"]


class RegistryError(ValueError):
    """A registry file or entry that does not follow the format.

    Attributes
    ----------
    file : str or None
        The file the problem is in.
    entry : str or None
        The entry's ``name`` (or ``#index`` when it has none, or a source id).
    field : str or None
        Dotted path of the field inside the entry (``peak.bf16``, ``memory.0.bandwidth``).
    line : int or None
        1-based line in the file, when known.
    problem : str
        What is wrong and what is allowed.
    """

    def __init__(self, problem: str, *, file: str | None = None, entry: str | None = None,
                 field: str | None = None, line: int | None = None):
        self.problem, self.file, self.entry, self.field, self.line = problem, file, entry, field, line
        where = []
        if file:
            where.append(f"{file}:{line}" if line else str(file))
        if entry:
            where.append(f"entry '{entry}'")
        if field:
            where.append(f"field '{field}'")
        super().__init__(": ".join(where + [problem]) if where else problem)


class RegistryLoadError(RegistryError):
    """Several registry problems at once; ``errors`` holds each :class:`RegistryError`."""

    def __init__(self, errors: list[RegistryError]):
        self.errors = list(errors)
        shown = "\n  ".join(str(e) for e in self.errors[:20])
        more = f"\n  ... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        super().__init__(f"{len(self.errors)} registry problems:\n  {shown}{more}")


class RegistryLookupError(LookupError, ValueError):
    """An unknown registry name; the message lists close matches and how to list them all.

    Attributes
    ----------
    name : str
        The name that was asked for.
    kind : str
        The kind of entry looked up (``hardware``, ``model``, ...).
    suggestions : tuple of str
        Canonical names close to ``name``.
    """

    def __init__(self, message: str, *, name: str = "", kind: str = "",
                 suggestions: tuple[str, ...] = ()):
        self.name, self.kind, self.suggestions = name, kind, tuple(suggestions)
        super().__init__(message)

    def __str__(self) -> str:  # LookupError would otherwise be fine; keep it plain text
        return self.args[0] if self.args else ""


class PrecisionError(ValueError):
    """A precision unknown to the tool, or one the chip has no peak rate for."""


class FieldError(ValueError):
    """A ValueError raised inside a validator that knows the (sub)field it is about."""

    def __init__(self, field: str | None, message: str):
        self.field = field
        super().__init__(message)
