"""The Kubernetes REST API of one simulated cluster: routing and request handlers."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from . import errors, openapi, resources
from .crud import Objects, parse_json, scale_of
from .deletion import DeleteOptions, delete_options, refuse_in_terminating_namespace
from .errors import ApiError, bad_request, status_object
from .httpserver import Request, Response, StreamResponse, json_response
from .protobuf import access_review_spec
from .resources import Resource
from .selectors import field_matcher, label_matcher
from .store import Store, dumps
from .tables import table, wants_table
from .validation import Decoder
from .watch import watch_response

TRUE = ("true", "1", "True")
Deleter = Callable[[Resource, str, str, DeleteOptions], dict]  # resource, ns, name
LogReader = Callable[[dict, Request], Response | StreamResponse]  # pod, request → log


@dataclass
class Route:
    resource: Resource
    namespace: str | None  # None: across all namespaces (or cluster-scoped)
    name: str = ""
    subresource: str = ""


def error_body(code: int, message: str) -> bytes:
    return dumps(status_object(code, errors.REASONS.get(code, "Unknown"), message))


def _discovery(path: str) -> dict | None:
    documents = {
        "/version": resources.version_info,
        "/version/": resources.version_info,
        "/api": resources.core_versions,
        "/apis": resources.group_list,
        "/api/v1": lambda: resources.resource_list(""),
    }
    if path in documents:
        return documents[path]()
    for group in resources.GROUPS:
        if path == f"/apis/{group}":
            return resources.group(group)
        if path == f"/apis/{resources.group_version(group)}":
            return resources.resource_list(group)
    return None


def _served(group: str, version: str) -> bool:
    return resources.GROUP_VERSIONS.get(group) == version


def parse_route(path: str) -> Route:
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis" and _served(parts[1], parts[2]):
        group, rest = parts[1], parts[3:]
    else:
        raise ApiError(404, "the server could not find the requested resource")
    if len(rest) >= 3 and rest[0] == "namespaces":
        return _route(group, rest[2], rest[1], rest[3:])
    if rest:
        return _route(group, rest[0], None, rest[1:])
    raise ApiError(404, "the server could not find the requested resource")


def _route(group: str, plural: str, namespace: str | None, rest: list[str]) -> Route:
    resource = resources.lookup(group, plural)
    if resource is None or len(rest) > 2:
        raise ApiError(404, "the server could not find the requested resource")
    if namespace is not None and not resource.namespaced:
        raise ApiError(404, "the server could not find the requested resource")
    name = rest[0] if rest else ""
    sub = rest[1] if len(rest) > 1 else ""
    if sub and sub not in resource.subresources:
        raise ApiError(404, "the server could not find the requested resource")
    if not resource.namespaced:
        namespace = ""
    return Route(resource, namespace, name, sub)


def _openapi(path: str) -> Response:
    if path.rstrip("/") == "/openapi/v3":
        return json_response(200, openapi.root_document())
    if path == "/openapi/v2":
        return Response(200, openapi.swagger_v2_protobuf(), PROTOBUF_V2)
    document = openapi.document_for(path)
    if document is None:
        raise ApiError(404, "the server could not find the requested resource")
    return Response(200, document)


PROTOBUF_V2 = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
METHOD_VERBS = {"PUT": "update", "PATCH": "patch", "DELETE": "delete", "POST": "create"}


def _verb(method: str, route: Route) -> str:
    if method == "GET":
        return "get" if route.name else "list"
    return METHOD_VERBS.get(method, method.lower())


def access_review(review) -> dict:
    """The kubeconfig's user may do everything: every review is allowed."""
    if not isinstance(review, dict) or not isinstance(review.get("spec"), dict):
        raise errors.invalid(resources.lookup("authorization.k8s.io", "selfsubjectaccessreviews"),
                             "", [("spec", "Required value")])  # fmt: skip
    return {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": review["spec"],
        "status": {
            "allowed": True,
            "reason": 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole '
            '"cluster-admin" to Group "system:masters"',
        },
    }


class KubeApi:
    """Answers every API request of one cluster from its store."""

    def __init__(self, store: Store, objects: Objects, read_log: LogReader, delete: Deleter):
        self.store = store
        self.objects = objects
        self.read_log = read_log
        self.delete = delete

    async def handle(self, request: Request) -> Response | StreamResponse:
        try:
            check_credentials(request)
            document = _discovery(request.path)
            if document is not None:
                return json_response(200, document)
            if request.path.startswith("/openapi/"):
                return _openapi(request.path)
            if request.path == "/swagger-2.0.0.pb-v1":
                raise ApiError(404, "the server could not find the requested resource")
            if request.path in ("/healthz", "/livez", "/readyz"):
                return Response(200, b"ok", "text/plain")
            return self._resource_request(request, parse_route(request.path))
        except ApiError as error:
            return json_response(error.code, error.status())

    def _resource_request(self, request: Request, route: Route) -> Response | StreamResponse:
        method = request.method
        if not route.subresource and _verb(method, route) not in route.resource.verbs:
            raise ApiError(
                405, f"the server does not allow this method on the requested resource ({method})"
            )
        if route.resource.kind == "SelfSubjectAccessReview":
            return json_response(201, access_review(self._review(request)))
        if method == "GET":
            if route.name:
                return self._get(request, route)
            return self._list_or_watch(request, route)
        if method == "POST" and not route.name:
            return self._create(request, route)
        if method == "PUT" and route.name:
            return self._replace(request, route)
        if method == "PATCH" and route.name:
            return self._patch(request, route)
        if method == "DELETE" and route.name:
            return self._delete(request, route)
        raise ApiError(
            405, f"the server does not allow this method on the requested resource ({method})"
        )

    def _namespace(self, route: Route) -> str:
        return route.namespace or ""

    def _get(self, request: Request, route: Route) -> Response | StreamResponse:
        entry = self.store.get_entry(route.resource, self._namespace(route), route.name)
        if entry is None:
            raise errors.not_found(route.resource, route.name)
        if route.subresource == "log":
            return self.read_log(entry.obj, request)
        if route.subresource == "scale":
            return json_response(200, scale_of(entry.obj))
        if wants_table(request.headers.get("accept", "")):
            rows = table(
                route.resource.plural, [entry.obj], entry.obj["metadata"]["resourceVersion"]
            )
            return json_response(200, rows)
        return Response(200, entry.json)

    def _matcher(self, request: Request, route: Route):
        labels = label_matcher(request.query.get("labelSelector"))
        fields = field_matcher(route.resource.plural, request.query.get("fieldSelector"))
        return lambda obj: labels(obj) and fields(obj)

    def _list_or_watch(self, request: Request, route: Route) -> Response | StreamResponse:
        matches = self._matcher(request, route)
        as_table = wants_table(request.headers.get("accept", ""))
        if request.query.get("watch") in TRUE:
            return watch_response(
                self.store, route.resource, route.namespace or None, matches, request, as_table
            )
        entries = [
            e for e in self.store.entries(route.resource, route.namespace or None) if matches(e.obj)
        ]
        entries, token = _page(entries, request.query)
        rv = str(self.store.rv)
        if as_table:
            body = table(
                route.resource.plural,
                [e.obj for e in entries],
                rv,
                request.query.get("includeObject", "Metadata"),
            )
            if token:
                body["metadata"]["continue"] = token
            return json_response(200, body)
        metadata = {"resourceVersion": rv, **({"continue": token} if token else {})}
        head = dumps(
            {
                "kind": route.resource.list_kind,
                "apiVersion": route.resource.api_version,
                "metadata": metadata,
            }
        )
        return Response(200, head[:-1] + b',"items":[' + b",".join(e.json for e in entries) + b"]}")

    def _body(self, request: Request):
        content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if "protobuf" in content_type:
            raise ApiError(
                415,
                "the body of the request was in an unknown format - accepted media types include: "
                f"application/json, application/yaml ({content_type})",
            )
        if content_type in ("application/yaml", "application/x-yaml"):
            try:
                return yaml.safe_load(request.body)
            except yaml.YAMLError as error:
                raise bad_request(
                    f"the body of the request could not be decoded as YAML: {error}"
                ) from None
        return parse_json(request.body)

    def _review(self, request: Request):
        if "protobuf" in request.headers.get("content-type", ""):
            return {"spec": access_review_spec(request.body)}
        return self._body(request)

    def _dry_run(self, request: Request) -> bool:
        return request.query.get("dryRun") == "All"

    def _decoder(self, request: Request, route: Route) -> Decoder:
        return Decoder(route.resource.kind, request.query.get("fieldValidation"))

    def _create(self, request: Request, route: Route) -> Response:
        if route.namespace is None and route.resource.namespaced:
            raise ApiError(405, "the server does not allow this method on the requested resource")
        decoder = self._decoder(request, route)
        body = decoder.decode(self._body(request))
        refuse_in_terminating_namespace(self.objects, route.resource, body, self._namespace(route))
        created = self.objects.create(
            route.resource, body, self._namespace(route), self._dry_run(request)
        )
        return _warned(json_response(201, created), decoder)

    def _replace(self, request: Request, route: Route) -> Response:
        body = self._body(request)
        if route.subresource == "scale":
            return json_response(
                200,
                self.objects.set_scale(
                    route.resource, self._namespace(route), route.name, body, self._dry_run(request)
                ),
            )
        decoder = self._decoder(request, route)
        replaced = self.objects.replace(
            route.resource,
            self._namespace(route),
            route.name,
            decoder.decode(body),
            route.subresource,
            self._dry_run(request),
        )
        return _warned(json_response(200, replaced), decoder)

    def _patch(self, request: Request, route: Route) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        decoder = self._decoder(request, route)
        patched = self.objects.patch(
            route.resource,
            self._namespace(route),
            route.name,
            content_type,
            request.body,
            route.subresource,
            self._dry_run(request),
            decode=decoder.decode,
        )
        return _warned(json_response(200, patched), decoder)

    def _delete(self, request: Request, route: Route) -> Response:
        body = parse_json(request.body) if request.body.strip() else {}
        options = delete_options(request.query, body)
        if self._dry_run(request) or body.get("dryRun") == ["All"]:
            entry = self.store.get_entry(route.resource, self._namespace(route), route.name)
            if entry is None:
                raise errors.not_found(route.resource, route.name)
            return Response(200, entry.json)
        return json_response(
            200, self.delete(route.resource, self._namespace(route), route.name, options)
        )


def _warned(response: Response, decoder: Decoder) -> Response:
    """Unknown fields a request sent without `fieldValidation=Strict` come back as warnings."""
    for warning in decoder.warnings():
        response.headers.append(
            ("Warning", f'299 - "{warning.replace(chr(34), chr(92) + chr(34))}"')
        )
    return response


def _page(entries: list, query: dict) -> tuple[list, str]:
    """`limit` and `continue`: the token is the offset of the next item."""
    start = 0
    if query.get("continue"):
        try:
            start = int(base64.urlsafe_b64decode(query["continue"].encode()).decode())
        except ValueError:
            raise bad_request("continue key is not valid") from None
    try:
        limit = int(query.get("limit") or 0)
    except ValueError:
        raise bad_request("limit must be an integer") from None
    if limit <= 0 or start + limit >= len(entries):
        return entries[start:], ""
    token = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return entries[start : start + limit], token


# The only bearer token kubesim accepts: the one it writes into its kubeconfig.
# A request without credentials is let through (tests and curl); a wrong token is
# refused like a real API server refuses it.
ACCEPTED_TOKEN = "kubesim"


def check_credentials(request: Request) -> None:
    authorization = request.headers.get("authorization", "")
    if authorization and authorization != f"Bearer {ACCEPTED_TOKEN}":
        raise ApiError(401, "Unauthorized")
