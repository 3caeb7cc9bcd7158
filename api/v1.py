"""The portal's HTTP API under /api/v1/ (Django Ninja: the OpenAPI document and the
request validation come from the schemas). Endpoints parse, check the token, call the
same domain function the pages call, and answer JSON."""

from ninja import NinjaAPI

from api import checklist, ci_results, deployments, environments, errors, releases
from api.auth import TokenAuth

api = NinjaAPI(
    title="Vizora Deploy Portal API",
    version="1",
    description=(
        "Send `Authorization: Bearer <token>` (personal tokens from *Your tokens*, CI "
        'tokens from an admin). Errors are `{"error": "…", "detail": …}`. Every POST '
        "takes an `Idempotency-Key` header: a retry with the same key and body gets the "
        "first answer and does nothing again."
    ),
    urls_namespace="api",
    auth=TokenAuth(),
    docs_url=None,  # our own page: Ninja's loads Swagger from a CDN (see docs.py)
)
errors.install(api)
for module in (releases, ci_results, deployments, checklist, environments):
    api.add_router("/", module.router)
