"""From paths on the command line to one validated desired state, or every problem at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from permctl.config.checks import check
from permctl.config.merge import merge
from permctl.config.problems import translate
from permctl.config.schema import Config
from permctl.config.yamlload import read_document
from permctl.errors import ConfigError, ConfigProblem


def load_files(paths: Sequence[Path]) -> Config:
    """Read, validate and merge the files; raises ConfigError carrying every problem found."""
    if not paths:
        raise ConfigError([ConfigProblem("", 0, 0, "", "no desired-state file was given")])
    configs: list[Config] = []
    problems: list[ConfigProblem] = []
    for path in paths:
        try:
            read = read_file(path)
        except ConfigError as error:  # a file that cannot be read at all
            problems += error.problems
            continue
        problems += read.problems
        if read.config is not None:
            configs.append(read.config)
    if len(configs) == len(paths):
        # Every file read, if only once its refused keys were set aside: the rules across
        # items run too, so that one run reports every problem.
        config, merged = merge(configs)
        problems += merged + check(config)
    if problems:
        raise ConfigError(problems)
    return config


def load_file(path: Path) -> Config:
    """One file on its own: shape and per-item rules, with positions bound to every item."""
    read = read_file(path)
    if read.problems or read.config is None:
        raise ConfigError(read.problems)
    return read.config


@dataclass(frozen=True)
class FileRead:
    """One file's problems, and the config it describes: whole when it has none, without the
    keys it refused when setting those aside leaves a config that validates, else None."""

    config: Config | None
    problems: list[ConfigProblem]


def read_file(path: Path) -> FileRead:
    document = read_document(path)
    problems = list(document.problems)
    config: Config | None
    try:
        config = Config.model_validate(document.data)
    except ValidationError as error:
        refused = {problem.path for problem in problems}
        problems += [
            p for p in translate(error, document.positions) if not _follows_from(p.path, refused)
        ]
        config = _without_refused_keys(document.data, error)
    if config is not None:
        config.bind_sources(document.positions)
    return FileRead(config, problems)


# Errors whose key can be set aside without changing what the rest of the file means: an
# unknown key, and a value not among the allowed ones (a role such as istio-root). Removing
# anything else (a mesh, a team, a principal) would make the rules report what follows from it.
_SET_ASIDE = frozenset({"extra_forbidden", "literal_error"})


def _without_refused_keys(data: Any, error: ValidationError) -> Config | None:
    errors = error.errors(include_url=False)
    if any(e["type"] not in _SET_ASIDE or not _ends_in_key(e["loc"]) for e in errors):
        return None
    trimmed = _containers_copied(data)
    try:
        for details in errors:
            *parents, key = details["loc"]
            container = trimmed
            for part in parents:
                container = container[part]
            del container[key]
        return Config.model_validate(trimmed)
    except (LookupError, TypeError, ValidationError):
        # A path through a union's branch names no key of the data: nothing set aside.
        return None


def _containers_copied(data: Any) -> Any:
    """Mappings and lists copied, so that keys can be deleted; the values in them are kept."""
    if isinstance(data, dict):
        return {key: _containers_copied(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_containers_copied(value) for value in data]
    return data


def _ends_in_key(loc: tuple[int | str, ...]) -> bool:
    return bool(loc) and isinstance(loc[-1], str) and loc[-1] != "[key]"


def _follows_from(path: str, refused: set[str]) -> bool:
    """A value the reader refused is missing from the data: say so once, not again as a missing
    field, nor as its item lacking that field (`give exactly one of ram_user or ram_role`)."""
    return any(r == path or r.startswith((f"{path}.", f"{path}[")) for r in refused if path)
