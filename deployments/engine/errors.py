"""Why an action was refused: one exception for people, the CLI and the API."""


class ActionRefused(Exception):
    """Not done, and nothing changed; the message says why and what to do.

    `forbidden` is True when this person may not do it at all (a page answers 403),
    False when the request itself is wrong or came too late (400 / 409).
    """

    def __init__(self, message: str, *, forbidden: bool = False):
        super().__init__(message)
        self.forbidden = forbidden


class DeploymentRequestError(ActionRefused):
    """A deployment request refused before anything was recorded.

    `existing` is the deployment of the same release already on its way to that
    environment, when that is why (a second click): the one to follow instead.
    `refusal` is the promotion rule that refused it (`promotion_rules.Refusal`: its
    kind and what to do instead), when one did.
    """

    def __init__(self, message: str, *, forbidden: bool = False, existing=None, refusal=None):
        super().__init__(message, forbidden=forbidden)
        self.existing = existing
        self.refusal = refusal


def forbidden(message: str) -> ActionRefused:
    return ActionRefused(message, forbidden=True)
