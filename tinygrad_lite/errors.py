"""The base of the package's input errors."""


class OneLineError(ValueError):
    """A ValueError whose message is one line, whatever was interpolated into it (a path, a
    library's multi-line message), so a command line can print it as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
