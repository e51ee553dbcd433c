"""From paths on the command line to one validated desired state, or every problem at once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from permctl.config.checks import check
from permctl.config.merge import merge
from permctl.config.problems import translate
from permctl.config.schema import Config
from permctl.config.yamlload import read_document
from permctl.errors import ConfigError, ConfigProblem

YAML_SUFFIXES = (".yaml", ".yml")


def expand_paths(args: Sequence[Path]) -> list[Path]:
    """Files as given; a directory becomes its *.yaml and *.yml files, sorted. Each file once."""
    paths: list[Path] = []
    problems: list[ConfigProblem] = []
    for arg in args:
        if arg.is_dir():
            found = sorted(p for p in arg.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
            if not found:
                problems.append(ConfigProblem(str(arg), 0, 0, "", "has no .yaml or .yml files"))
            paths += found
        elif arg.exists():
            paths.append(arg)
        else:
            problems.append(ConfigProblem(str(arg), 0, 0, "", "no such file or directory"))
    if problems:
        raise ConfigError(problems)
    return _each_file_once(paths)


def _each_file_once(paths: list[Path]) -> list[Path]:
    # `permctl validate conf/ conf/a.yaml` must not declare everything in a.yaml twice.
    seen: set[Path] = set()
    unique: list[Path] = []
    for path in paths:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique


def load_files(paths: Sequence[Path]) -> Config:
    """Read, validate and merge the files; raises ConfigError carrying every problem found."""
    if not paths:
        raise ConfigError([ConfigProblem("", 0, 0, "", "no desired-state file was given")])
    configs: list[Config] = []
    problems: list[ConfigProblem] = []
    for path in paths:
        try:
            configs.append(load_file(path))
        except ConfigError as error:
            problems += error.problems
    if problems:
        # Cross-file rules on a partial set would only add noise (an unknown team that a
        # broken file declares); they run once every file reads.
        raise ConfigError(problems)
    config, problems = merge(configs)
    problems += check(config)
    if problems:
        raise ConfigError(problems)
    return config


def load_file(path: Path) -> Config:
    """One file on its own: shape and per-item rules, with positions bound to every item."""
    document = read_document(path)
    problems = list(document.problems)
    try:
        config = Config.model_validate(document.data)
    except ValidationError as error:
        refused = {problem.path for problem in problems}
        problems += [
            p for p in translate(error, document.positions) if not _follows_from(p.path, refused)
        ]
    if problems:
        raise ConfigError(problems)
    config.bind_sources(document.positions)
    return config


def _follows_from(path: str, refused: set[str]) -> bool:
    """A value the reader refused is missing from the data: say so once, not again as a missing
    field, nor as its item lacking that field (`give exactly one of ram_user or ram_role`)."""
    return any(r == path or r.startswith((f"{path}.", f"{path}[")) for r in refused if path)
