"""The model.json contract in Python: its JSON Schema plus the few rules a schema cannot state.

The schema is one file, dagger/src/model-store/model.schema.json, which the model store checks
with ajv (manifest.ts). This module is the Python side, used by the app (model.py) and by the
trainer (model/train.py loads this file): it imports nothing but the standard library and
jsonschema, so the trainer needs no Flask. Problems read "<field> <what it must be>", each
schema's ``description`` being written as that message; test/fixtures/model-json holds the
manifests all three sides must accept or refuse alike.
"""

from __future__ import annotations

import functools
import json
import os
import re
import unicodedata
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

MANIFEST_NAME = "model.json"
SCHEMA_ENV = "MODEL_SCHEMA"
# Without $MODEL_SCHEMA: the copy the image build puts beside this module, else the store's file
# in a checkout of the repository (also how the test and training containers lay it out).
SCHEMA_PLACES = (
    Path(__file__).with_name("model.schema.json"),
    Path(__file__).resolve().parents[2] / "dagger" / "src" / "model-store" / "model.schema.json",
)
# What the schema cannot state, applied alike by the store (manifest.ts, semver.ts):
MAX_SAFE_INTEGER = 2**53 - 1  # larger version numbers cannot be ordered exactly by the store
MAX_NAME_BYTES = 255  # one file or folder name (ext4, XFS, btrfs, APFS, NTFS)
MAX_PATH_BYTES = 1024  # a whole path, leaving room for the target directory under PATH_MAX
_UNPRINTABLE = {"Cc", "Cf", "Cs"}  # control, invisible formatting, lone surrogate
_MAX_SHOWN = 300


class SchemaUnavailable(RuntimeError):
    """The schema file cannot be found or read; the message says where it was looked for."""


def schema_path() -> Path:
    """Where the schema is read from: $MODEL_SCHEMA, else the first of SCHEMA_PLACES that exists."""
    configured = os.environ.get(SCHEMA_ENV)
    if configured:
        if not Path(configured).is_file():
            raise SchemaUnavailable(f"{SCHEMA_ENV}={configured!r} is not a file")
        return Path(configured)
    for place in SCHEMA_PLACES:
        if place.is_file():
            return place
    raise SchemaUnavailable(
        f"model.json schema not found at {' or '.join(map(str, SCHEMA_PLACES))}; "
        f"set {SCHEMA_ENV} to the path of dagger/src/model-store/model.schema.json"
    )


@functools.lru_cache(maxsize=4)
def _validator(path: Path) -> Draft202012Validator:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, SchemaError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchemaUnavailable(f"{path} is not a usable JSON Schema: {first_line}") from None
    return Draft202012Validator(schema)


def validator() -> Draft202012Validator:
    """The compiled schema (read once per path)."""
    return _validator(schema_path())


def _escaped(ch: str) -> str:
    """``\\uXXXX`` for each UTF-16 unit of ``ch``, as in JSON (and as the store shows it)."""
    units = ch.encode("utf-16-le", "surrogatepass")
    return "".join(f"\\u{int.from_bytes(units[i : i + 2], 'little'):04x}" for i in range(0, len(units), 2))


def shown(value) -> str:
    """An untrusted value as JSON with every unprintable character escaped, cut when long."""
    long = isinstance(value, str) and len(value) > _MAX_SHOWN
    text = json.dumps(value[:_MAX_SHOWN] if long else value, ensure_ascii=False)
    text = "".join(_escaped(ch) if unicodedata.category(ch) in _UNPRINTABLE else ch for ch in text)
    return f"{text}... ({len(value)} characters)" if long else text


def _field(parent: str, key) -> str:
    """files[0].sha256: indexes in brackets, plain keys after a dot, other keys quoted."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if re.fullmatch(r"[A-Za-z0-9_-]+", key, re.ASCII):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{shown(key)}]"


def _schema_problems(manifest) -> dict[str, list[str]]:
    """Field -> what is wrong with it, from the schema's descriptions."""
    problems: dict[str, list[str]] = {}
    for error in validator().iter_errors(manifest):
        where = ""
        for key in error.absolute_path:
            where = _field(where, key)
        if error.validator == "required":
            described = error.schema.get("properties", {})
            for name in (n for n in error.validator_value if n not in error.instance):
                what = described.get(name, {}).get("description")
                problems.setdefault(_field(where, name), []).append(f"is missing; it {what}" if what else "is missing")
        else:
            scalar = error.instance is None or isinstance(error.instance, (str, int, float, bool))
            got = f" (got {shown(error.instance)})" if scalar else ""
            problems.setdefault(where or MANIFEST_NAME, []).append(f"{error.schema.get('description', error.message)}{got}")
    return problems


def _version_numbers_fit(version: str) -> bool:
    """Every number of a version the schema accepted is at most 2**53-1 (build metadata aside)."""
    release, _, prerelease = version.partition("+")[0].partition("-")
    identifiers = release.split(".") + (prerelease.split(".") if prerelease else [])
    return all(not i.isdigit() or int(i) <= MAX_SAFE_INTEGER for i in identifiers)


def _one_path_problem(path: str) -> str | None:
    if any(unicodedata.category(ch) in _UNPRINTABLE for ch in path):
        return "has control or invisible formatting characters"
    if any(len(part.encode()) > MAX_NAME_BYTES for part in path.split("/")):
        return f"has a name over {MAX_NAME_BYTES} bytes (the file system limit)"
    if len(path.encode()) > MAX_PATH_BYTES:
        return f"is over {MAX_PATH_BYTES} bytes"
    return None


def _path_problems(paths: dict[int, str]) -> dict[str, list[str]]:
    """The store's file-system rules for the paths the schema accepted (files index -> path)."""
    problems: dict[str, list[str]] = {}
    clean: dict[int, str] = {}
    for index, path in paths.items():
        problem = _one_path_problem(path)
        if problem:
            problems[f"files[{index}].path"] = [f"{shown(path)} {problem}"]
        else:
            clean[index] = path

    def fold(path: str) -> str:  # one file on macOS and Windows, whatever the case or normalization
        return unicodedata.normalize("NFC", path).lower()

    first: dict[str, int] = {}
    for index, path in clean.items():
        other = first.setdefault(fold(path), index)
        if other != index:
            why = "is listed twice" if clean[other] == path else (
                f"differs from {shown(clean[other])} only in letter case or Unicode normalization "
                "(one file on macOS and Windows)"
            )
            problems.setdefault(f"files[{index}].path", []).append(f"{shown(path)} {why}")
    for index, path in clean.items():
        parts = path.split("/")
        for n in range(1, len(parts)):
            folder = first.get(fold("/".join(parts[:n])))
            if folder is not None:
                problems.setdefault(f"files[{index}].path", []).append(
                    f"{shown(path)} lies under {shown(clean[folder])}, which is listed as a file"
                )
    return problems


def manifest_problems(manifest) -> list[str]:
    """Every way ``manifest`` (parsed model.json) breaks the contract, as "<field> <problem>"."""
    problems = _schema_problems(manifest)
    if isinstance(manifest, dict) and "version" not in problems and not _version_numbers_fit(manifest["version"]):
        problems["version"] = [f"has a number over {MAX_SAFE_INTEGER} (2^53-1), which the store cannot order exactly"]
    entries = manifest.get("files") if isinstance(manifest, dict) else None
    if isinstance(entries, list):
        paths = {
            index: entry["path"]
            for index, entry in enumerate(entries)
            if isinstance(entry, dict) and isinstance(entry.get("path"), str) and f"files[{index}].path" not in problems
        }
        for where, texts in _path_problems(paths).items():
            problems.setdefault(where, []).extend(texts)
    return [f"{where} {text}" for where, texts in problems.items() for text in dict.fromkeys(texts)]


def field_problem(field: str, value) -> str | None:
    """What is wrong with one top-level field's value (e.g. a --name), or None."""
    schema = validator().schema["properties"][field]
    if Draft202012Validator(schema).is_valid(value):
        return None
    return schema["description"]


def semver_precedence(version) -> tuple | None:
    """The SemVer 2.0 precedence key of ``version``, or None when the model store would refuse it.

    Valid means the schema's version rule and every number at most 2**53-1 (the store parses
    versions with npm's ``semver`` package). Build metadata has no precedence (SemVer section
    10), so equal keys are one version: 1.0.0+build.1 and 1.0.0+build.2 cannot both be published.
    """
    if field_problem("version", version) or not _version_numbers_fit(version):
        return None
    release, _, prerelease = version.partition("+")[0].partition("-")
    identifiers = prerelease.split(".") if prerelease else []
    # A release outranks its prereleases; numeric identifiers rank below alphanumeric ones.
    ranked = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in identifiers)
    return tuple(int(n) for n in release.split(".")) + ((0, ranked) if identifiers else (1, ()))
