"""Error types raised on bad input."""


class InputError(ValueError):
    """Bad user input (a file, a flag, an array): the message is one line naming what and why."""

    def __init__(self, message: str, path: object | None = None):
        self.path = None if path is None else str(path)
        text = " ".join(str(message).split())
        super().__init__(f"{self.path}: {text}" if self.path else text)
