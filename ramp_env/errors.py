"""The package's error classes share one base, :class:`RampEnvError`.

A caller catches ``RampEnvError`` to handle every problem ramp-env reports on
purpose (bad options, malformed files, untrusted caches, server faults), while a
genuine bug (``TypeError``, ``KeyError`` from our own code) still propagates.
The CLI maps ``RampEnvError`` to a one-line message and shows a traceback for
anything else.

Subclasses also derive from the built-in class their callers caught before the
base existed (``ValueError``, ``RuntimeError``, ``PermissionError``), so
``except ValueError`` in user code keeps working.
"""

from __future__ import annotations


class RampEnvError(Exception):
    """Base class of every exception ramp-env raises on purpose."""


class InvalidOptionError(RampEnvError, ValueError):
    """An option, argument or configuration value is out of its documented range."""


class DataFormatError(RampEnvError, ValueError):
    """A file or record the user gave is malformed; the message names the file (and line)."""


class NoTaskError(RampEnvError, RuntimeError):
    """The env's options leave no passage that can make the task asked for (too many masks for the
    corpus, or too strict an evidence criterion): the message says what to relax."""


class RampEnvWarning(RampEnvError, UserWarning):
    """Base class of every warning ramp-env issues (``warnings.filterwarnings`` on it silences them all).

    A warning class is an exception class too (``-W error`` raises it), so it also derives from
    :class:`RampEnvError`: ``except RampEnvError`` catches a package warning turned into an error."""


__all__ = ["DataFormatError", "InvalidOptionError", "NoTaskError", "RampEnvError", "RampEnvWarning"]
