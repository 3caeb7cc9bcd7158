"""Why a deployment request was refused (the refusal of any action is
`portal.refusals.ActionRefused`)."""

from portal.refusals import ActionRefused


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
