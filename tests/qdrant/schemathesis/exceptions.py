"""The failure raised when a response does not match the schema."""


class CheckFailed(AssertionError):
    """A response check failed; the message says which and why."""
