"""Errors a user can act on, and how any failure becomes one line.

Every failure that is the user's input (a missing file, a config that contradicts the
weights, an unknown recipe, a missing optional backend) raises a subclass of
:class:`PhoneLMError` with a one-line message; the CLI prints it as ``error: ...`` and
exits with status 2 instead of showing a traceback. The CLI's boundary (``cli.PhoneLMGroup``)
also turns the failures that are not ours into one line: operating-system errors
(:func:`describe_os_error`), invalid UTF-8 (:func:`describe_unicode_error`), signals
(:class:`Interrupted`) and, for anything else, "internal error, please report".
"""
from __future__ import annotations

import errno
import signal

EXIT_USER_ERROR = 2
EXIT_GATE_FAILED = 1  # verify / all: a backend failed its parity gates (sys.exit(1) there)


class PhoneLMError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = EXIT_USER_ERROR


class CheckpointError(PhoneLMError):
    """The checkpoint cannot be read or contradicts itself."""


class RecipeError(PhoneLMError):
    """A quantization recipe is unknown or invalid."""


class SchemaError(PhoneLMError):
    """A file we were handed does not have the declared shape (names the file, the key, what was expected)."""


class OutputExistsError(PhoneLMError):
    """The output path exists and --force was not given."""


class OutputError(PhoneLMError):
    """The output path cannot be written (missing directory, not ours to replace, no space...)."""


class InputTextError(PhoneLMError):
    """Text the user handed us (a prompt, a query, calibration text) is not valid UTF-8 or is too long."""


class MissingExtra(PhoneLMError):
    """An optional backend's packages are not installed."""

    def __init__(self, extra: str, what: str, missing: str | None = None):
        self.extra = extra
        detail = f" ({missing} is not importable)" if missing else ""
        super().__init__(
            f"{what} needs the '{extra}' extra{detail}: pip install 'phonelm-export[{extra}]'"
        )


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException (like KeyboardInterrupt) so that no
    ``except Exception`` swallows it and every ``finally`` / context manager still cleans up."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def first_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return s[0].strip() if s else type(e).__name__


_OS_WORDS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENOENT: "no such file or directory",
    errno.EEXIST: "already exists",
    errno.ELOOP: "too many levels of symbolic links (a symlink loop?)",
    errno.ENAMETOOLONG: "file name too long",
    errno.EMFILE: "too many open files",
    errno.ENOMEM: "out of memory",
    errno.EIO: "input/output error (a failing disk or a network mount?)",
    errno.EXDEV: "cannot rename across file systems",
    errno.ENOTEMPTY: "directory not empty",
    errno.EBUSY: "device or resource busy",
    errno.EFBIG: "file too large for this file system",
}


def describe_os_error(e: OSError) -> str:
    """One line for an operating-system error: the path(s) and what went wrong in words."""
    words = _OS_WORDS.get(e.errno) if e.errno is not None else None
    if words is None:
        words = e.strerror or first_line(e)
        if e.errno is None and "requested" in words and "written" in words:
            # a short write (numpy/safetensors report it like this): almost always a full disk
            words = f"short write ({words}); is the disk full?"
    where = ""
    if e.filename is not None:
        where = f"{e.filename}"
        if getattr(e, "filename2", None) is not None:
            where += f" -> {e.filename2}"
        where += ": "
    return f"{where}{words}"


def describe_unicode_error(e: UnicodeError) -> str:
    """One line for text that is not valid UTF-8 (decoding), or carries undecodable bytes that
    Python kept as surrogates (command-line arguments and stdin in a non-UTF-8 locale)."""
    if isinstance(e, UnicodeDecodeError):
        bad = e.object[e.start:e.start + 1]
        return f"input is not valid UTF-8 text (byte 0x{bad.hex()} at offset {e.start})"
    if isinstance(e, UnicodeEncodeError) and isinstance(e.object, str):
        ch = e.object[e.start:e.start + 1]
        if ch and 0xDC80 <= ord(ch) <= 0xDCFF:  # surrogateescape's stand-in for a raw byte
            return f"input is not valid UTF-8 text (byte 0x{ord(ch) - 0xDC00:02x} at character {e.start})"
        return f"input holds a character that cannot be encoded ({e.reason} at character {e.start})"
    return f"invalid text ({first_line(e)})"


def explain(e: BaseException) -> tuple[str, int]:
    """The one ``error:`` line (without the prefix) and the exit status for any exception that
    escaped a command. Messages are forced onto one line: a traceback's worth of text from a
    library must not reach the user."""
    if isinstance(e, Interrupted):
        msg, code = ("interrupted (SIGINT)" if e.signum == signal.SIGINT else f"terminated ({e})"), e.exit_code
    elif isinstance(e, KeyboardInterrupt):
        msg, code = "interrupted (SIGINT)", 128 + signal.SIGINT
    elif isinstance(e, PhoneLMError):
        msg, code = str(e), e.exit_code
    elif isinstance(e, OSError):
        msg, code = describe_os_error(e), EXIT_USER_ERROR
    elif isinstance(e, UnicodeError):
        msg, code = describe_unicode_error(e), EXIT_USER_ERROR
    elif isinstance(e, MemoryError):
        msg, code = "out of memory (try a smaller model, a smaller context or fewer threads)", EXIT_USER_ERROR
    elif type(e).__module__.split(".")[0] == "jinja2":
        # chat templates come from checkpoints; a broken one, or one the sandbox stopped, is the
        # checkpoint's problem, not ours
        kind = "was stopped by the sandbox" if type(e).__name__ == "SecurityError" else "is invalid"
        msg, code = f"the chat template {kind}: {first_line(e)}", EXIT_USER_ERROR
    else:
        msg, code = f"internal error, please report: {type(e).__name__}: {first_line(e)}", EXIT_USER_ERROR
    one = "; ".join(part.strip() for part in str(msg).splitlines() if part.strip())
    return one or type(e).__name__, code
