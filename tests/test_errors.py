"""Every exception class of ramp_env and agents shares the base ``RampEnvError`` (every warning
``RampEnvWarning``), so a caller catches the package's deliberate errors without catching bugs."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import ramp_env
from ramp_env.errors import InvalidOptionError, RampEnvError, RampEnvWarning

PACKAGES = ("ramp_env", "agents")


def package_modules() -> list[ModuleType]:
    modules = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if info.name.rsplit(".", 1)[-1] == "__main__":  # runs the CLI on import
                continue
            try:
                modules.append(importlib.import_module(info.name))
            except ModuleNotFoundError as exc:  # an optional extra that is not installed
                if exc.name and exc.name.split(".")[0] in PACKAGES:
                    raise
    return modules


def defined_exception_classes() -> list[type[BaseException]]:
    found = []
    for module in package_modules():
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def test_the_walk_finds_the_package_errors() -> None:
    names = {cls.__name__ for cls in defined_exception_classes()}
    # the walk really reaches submodules (otherwise the checks below would pass vacuously)
    assert {"CorpusFormatError", "UntrustedCacheError", "CacheIntegrityError", "SmallPoolWarning"} <= names


def test_every_exception_subclasses_ramp_env_error() -> None:
    # warnings included: a warning class is an exception class (``-W error`` raises it)
    strays = [f"{cls.__module__}.{cls.__qualname__}" for cls in defined_exception_classes()
              if not issubclass(cls, RampEnvError)]
    assert strays == []


def test_every_warning_subclasses_ramp_env_warning() -> None:
    strays = [f"{cls.__module__}.{cls.__qualname__}" for cls in defined_exception_classes()
              if issubclass(cls, Warning) and not issubclass(cls, RampEnvWarning)]
    assert strays == []


@pytest.mark.parametrize(("cls", "builtin"), [
    ("ramp_env.corpus.loaders:CorpusFormatError", ValueError),
    ("ramp_env.qa.loaders:QAFormatError", ValueError),
    ("ramp_env.cache:UntrustedCacheError", PermissionError),
    ("ramp_env.corpus.integrity:CacheIntegrityError", RuntimeError),
    ("ramp_env.rewards.judges.http:JudgeServerError", RuntimeError),
    ("ramp_env.masking.pool_monitor:SmallPoolWarning", UserWarning),
])
def test_errors_keep_their_builtin_base(cls: str, builtin: type[BaseException]) -> None:
    module, name = cls.split(":")
    assert issubclass(getattr(importlib.import_module(module), name), builtin)  # `except ValueError` still works


def test_the_bases_are_exported() -> None:
    assert ramp_env.RampEnvError is RampEnvError and ramp_env.RampEnvWarning is RampEnvWarning
    assert ramp_env.InvalidOptionError is InvalidOptionError


def _bad_trajectory_file(tmp_path) -> None:
    from ramp_env.trajectories import read_trajectories

    path = tmp_path / "t.jsonl"
    path.write_text('{"not": "a trajectory"}\n')
    read_trajectories(path)


def _bad_task_file(tmp_path) -> None:
    from ramp_env.tasksets.frozen import load_task_set

    path = tmp_path / "tasks.jsonl.gz"
    path.write_bytes(b"not gzip")
    load_task_set(path)


def _bad_task_pool(tmp_path) -> None:
    from ramp_env.masking.pool import parse_task_pool

    parse_task_pool("lots")


def _directory_as_out_file(tmp_path) -> None:
    from ramp_env.cache import check_output_file

    check_output_file(tmp_path)


@pytest.mark.parametrize(("bad_input", "expected"), [
    (_bad_trajectory_file, "DataFormatError"),
    (_bad_task_file, "DataFormatError"),
    (_bad_task_pool, "InvalidOptionError"),
    (_directory_as_out_file, "InvalidOptionError"),
])
def test_bad_user_input_raises_a_package_error(tmp_path, bad_input, expected: str) -> None:
    with pytest.raises(RampEnvError) as info:
        bad_input(tmp_path)
    assert type(info.value).__name__ == expected and isinstance(info.value, ValueError)
