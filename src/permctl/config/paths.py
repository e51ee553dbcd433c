"""Which files make the desired state: the paths given on the command line, expanded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
