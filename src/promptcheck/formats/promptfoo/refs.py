"""``file://`` references as promptfoo resolves them: relative to the config's folder, with
globs, and parsed by file type. Every failure is a plain-words SpecError-ready message."""

from __future__ import annotations

import csv
import glob
import io
import json
from pathlib import Path
from typing import Any

from promptcheck.safefiles import yamlio
from promptcheck.formats.fields import Problems, type_name
from promptcheck.spec import Location, SpecError

FILE_PREFIX = "file://"
SCRIPT_SUFFIXES = (".js", ".cjs", ".mjs", ".ts", ".py", ".go", ".rb", ".sh")


class RefError(Exception):
    """A reference cannot be followed; the message names the file and why."""


def is_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FILE_PREFIX)


def strip_ref(value: str) -> str:
    return value[len(FILE_PREFIX) :] if value.startswith(FILE_PREFIX) else value


def split_function(ref: str) -> tuple[str, str | None]:
    """``x.py:fn`` -> ("x.py", "fn"); a Windows drive letter is not a function name."""
    path, sep, name = strip_ref(ref).rpartition(":")
    if sep and name and path.endswith(SCRIPT_SUFFIXES):
        return path, name
    return strip_ref(ref), None


def expand(ref: str, base: Path) -> list[Path]:
    """The files a reference names (a glob may name several), sorted; raises RefError if none."""
    pattern = strip_ref(ref)
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    if glob.has_magic(pattern):
        found = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
        if not found:
            raise RefError(f"no file matches '{pattern}' (looked in {base})")
        return found
    path = Path(full)
    if not path.is_file():
        raise RefError(f"file not found: '{pattern}' (looked in {base})")
    return [path]


def shown(path: Path) -> str:
    """A path as a message shows it: relative to the working directory when under it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RefError(f"cannot read '{shown(path)}': {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A binary file other than an image (images load as base64 before reaching here).
        raise RefError(
            f"'{shown(path)}' is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "promptcheck reads file:// references as text, and images (.png, .jpg, .gif, .webp) as base64, "
            "so this binary file cannot be used"
        ) from None


def read_data(path: Path) -> Any:
    """Structured content by suffix: JSON, YAML, JSONL (a list) or CSV (a list of row dicts);
    anything else is its text."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:  # the limits of every YAML file promptcheck reads (aliases, nesting) apply here too
            return yamlio.loads(text, str(path), allow_empty=True)
        except SpecError as exc:
            raise RefError(f"'{path.name}' is not valid YAML: {exc}") from None
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise RefError(f"'{path.name}' is not valid {suffix[1:].upper()}: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise RefError(f"'{path.name}' nests too deeply to read") from None
    if suffix == ".csv":
        return read_csv(text)
    return text


def read_csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    return [{(k or "").strip(): (v if v is not None else "") for k, v in row.items()} for row in reader]


def load_value(value: Any, base: Path) -> Any:
    """A config value that may be a ``file://`` reference to data (schemas, tool lists)."""
    if not is_ref(value):
        return value
    paths = expand(value, base)
    return read_data(paths[0])


def mapping_or_ref(node: Any, what: str, problems: Problems, at: Location, base: Path) -> dict[str, Any]:
    """A mapping written inline or as a ``file://`` reference to one; problems recorded, {} returned."""
    if node is None:
        return {}
    if is_ref(node):
        try:
            node = read_data(expand(node, base)[0])
        except RefError as exc:
            problems.error(f"{what}: {exc}", at)
            return {}
    if not isinstance(node, dict):
        problems.error(f"'{what}' must be a mapping, got {type_name(node)}", at)
        return {}
    return dict(node)
