"""Why an action was refused: one exception for people, the CLI and the API, raised by
every app's actions (deploying, building, issuing tokens)."""


class ActionRefused(Exception):
    """Not done, and nothing changed; the message says why and what to do.

    `forbidden` is True when this person may not do it at all (a page answers 403),
    False when the request itself is wrong or came too late (400 / 409).
    """

    def __init__(self, message: str, *, forbidden: bool = False):
        super().__init__(message)
        self.forbidden = forbidden


def forbidden(message: str) -> ActionRefused:
    return ActionRefused(message, forbidden=True)
