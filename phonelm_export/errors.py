"""Errors a user can act on.

Every failure that is the user's input (a missing file, a config that contradicts the
weights, an unknown recipe, a missing optional backend) raises a subclass of
:class:`PhoneLMError` with a one-line message; the CLI prints it as ``error: ...`` and
exits with status 2 instead of showing a traceback.
"""


class PhoneLMError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class CheckpointError(PhoneLMError):
    """The checkpoint cannot be read or contradicts itself."""


class RecipeError(PhoneLMError):
    """A quantization recipe is unknown or invalid."""


class OutputExistsError(PhoneLMError):
    """The output path exists and --force was not given."""


class MissingExtra(PhoneLMError):
    """An optional backend's packages are not installed."""

    def __init__(self, extra: str, what: str, missing: str | None = None):
        self.extra = extra
        detail = f" ({missing} is not importable)" if missing else ""
        super().__init__(
            f"{what} needs the '{extra}' extra{detail}: pip install 'phonelm-export[{extra}]'"
        )
