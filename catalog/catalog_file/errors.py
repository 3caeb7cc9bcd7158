"""Validation errors of a catalog file, each tied to the line it is about."""

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class CatalogError:
    """One problem in the file: the line (1-based; 0 for the whole file), the YAML path
    (`environments[2].cluster`) and what is wrong."""

    line: int
    path: str
    message: str

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}: " if self.line else f"{filename}: "
        what = f"{self.path}: " if self.path else ""
        return f"{where}{what}{self.message}"


class CatalogInvalid(Exception):
    """The file cannot be synced; `lines` holds every error, formatted, in line order."""

    def __init__(self, filename: str, errors: list[CatalogError]) -> None:
        self.filename = filename
        self.errors = sorted(errors)
        self.lines = [error.format(filename) for error in self.errors]
        super().__init__("\n".join(self.lines))


class Context:
    """The errors found so far in one file."""

    def __init__(self) -> None:
        self.errors: list[CatalogError] = []

    def error(self, line: int, path: str, message: str) -> None:
        self.errors.append(CatalogError(line, path, message))
