"""The exceptions neurodyn raises: the same message and hints the command line
prints after ``error:`` and ``hint:``, and its exit code."""


class Error(Exception):
    """A neurodyn error: ``str(e)`` is the message, the offending source line when
    there is one (``snippet``), and the hints, one per line."""

    def __init__(self, message, *, hints=(), exit_code=2, snippet=None):
        self.message = message
        self.hints = list(hints)
        self.exit_code = exit_code
        self.snippet = snippet
        super().__init__(message)

    def __str__(self):
        lines = [self.message]
        if self.snippet:
            lines.append(self.snippet)
        return "\n".join(lines + ["hint: " + h for h in self.hints])


class InputError(Error, ValueError):
    """Bad input: the experiment (or an option) names where the problem is.

    ``file`` is the experiment's path, or ``<dict>`` / ``<string>`` for an experiment
    given as a dict or as YAML text; ``line`` and ``column`` are 1-based (None when
    the problem has no single place); ``key`` is the dotted path of the offending key.
    """

    def __init__(self, message, *, hints=(), exit_code=2, snippet=None, file=None,
                 line=None, column=None, key=None):
        super().__init__(message, hints=hints, exit_code=exit_code, snippet=snippet)
        self.file = file
        self.line = line
        self.column = column
        self.key = key


class NeurodynWarning(UserWarning):
    """A problem that does not stop a run (a coarse dt, runs that failed)."""
