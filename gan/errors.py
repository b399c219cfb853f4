"""User-facing errors: the CLI prints their message as one line and exits non-zero, no traceback."""


class UserError(Exception):
  """A problem with the user's input (config value, path, missing data) rather than a bug."""
