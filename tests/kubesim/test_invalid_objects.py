"""What the API server refuses, and that refusing leaves the stored objects as they were.

Decoding errors are 400 BadRequest (`cannot be handled as a Deployment: json: cannot
unmarshal ...`, `strict decoding error: unknown field ...`), as a real API server answers
them; validation errors are 422 Invalid with a cause per field.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kubernetes import client

from kubesim.errors import ApiError
from kubesim.validation import Decoder
from tests.kubesim.helpers import NAMESPACE, deployment_manifest

MIDDLEWARE = (Path(__file__).parent / "manifests" / "10-middleware.yaml").read_text()
DEPLOYMENT = MIDDLEWARE.split("---")[0]
SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
ENV_BOOL = (
    'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal bool '
    "into Go struct field EnvVar.spec.template.spec.containers.env.name of type string"
)


@pytest.fixture
def kubectl(kubectl_at, tmp_path):
    """kubectl 1.31 on a cluster of its own, with the seed's namespace in it."""
    run = kubectl_at("31", cluster="invalid")
    namespace = run("apply", "-f", str(Path(__file__).parent / "manifests" / "00-namespace.yaml"))
    assert namespace.returncode == 0, namespace.stderr

    def apply(text: str, *flags: str):
        manifest = tmp_path / "manifest.yaml"
        manifest.write_text(text)
        return run("apply", "-f", str(manifest), *flags)

    run.apply = apply
    run.manifest = tmp_path / "manifest.yaml"
    return run


def deployment(name: str, text: str = DEPLOYMENT) -> str:
    return text.replace("name: vizora-middleware\n  namespace", f"name: {name}\n  namespace", 1)


def test_env_var_name_true_is_refused_and_nothing_is_created(kubectl):
    text = deployment("env-bool").replace("- name: NODE_ENV\n", "- name: true\n")
    refused = kubectl.apply(text)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        f'Error from server (BadRequest): error when creating "{kubectl.manifest}": {ENV_BOOL}\n'
    )
    missing = kubectl("get", "deploy/env-bool", "-n", "vizora-prod")
    assert missing.stderr == 'Error from server (NotFound): deployments.apps "env-bool" not found\n'


def test_a_bad_change_to_an_applied_deployment_leaves_it_as_it_was(kubectl):
    assert kubectl.apply(deployment("kept")).returncode == 0
    refused = kubectl.apply(deployment("kept").replace("- name: NODE_ENV\n", "- name: true\n"))
    assert refused.returncode == 1
    assert refused.stderr.endswith(f'error when patching "{kubectl.manifest}": {ENV_BOOL}\n')
    fields = "{.metadata.generation} {.spec.template.spec.containers[0].env[0].name}"
    kept = kubectl("get", "deploy/kept", "-n", "vizora-prod", "-o", f"jsonpath={fields}")
    assert kept.stdout == "1 NODE_ENV"


def test_a_dns_invalid_name_is_invalid_with_its_field(kubectl):
    refused = kubectl.apply(deployment("Vizora_Middleware"))
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        'The Deployment "Vizora_Middleware" is invalid: metadata.name: Invalid value: '
        f'"Vizora_Middleware": {SUBDOMAIN}\n'
    )
    too_long = kubectl.apply(deployment("a" * 254))
    assert "metadata.name: Invalid value: " in too_long.stderr
    assert "must be no more than 253 characters" in too_long.stderr


def test_a_service_name_must_be_a_dns_1035_label(kubectl):
    service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web.service\n"
    refused = kubectl.apply(service + "  namespace: vizora-prod\nspec:\n  ports:\n  - port: 80\n")
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        'The Service "web.service" is invalid: metadata.name: Invalid value: "web.service": '
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
        "with an alphabetic character"
    )


def test_an_unknown_field_is_a_strict_decoding_error_unless_validation_is_off(kubectl):
    text = deployment("unknown").replace("        ports:\n", "        portz: 3\n        ports:\n")
    refused = kubectl.apply(text)
    assert refused.returncode == 1
    assert refused.stderr == (
        f'Error from server (BadRequest): error when creating "{kubectl.manifest}": Deployment '
        'in version "v1" cannot be handled as a Deployment: strict decoding error: unknown '
        'field "spec.template.spec.containers[0].portz"\n'
    )
    warned = kubectl.apply(text, "--validate=warn")
    assert (warned.returncode, warned.stdout) == (0, "deployment.apps/unknown created\n")
    assert warned.stderr == 'Warning: unknown field "spec.template.spec.containers[0].portz"\n'
    stored = kubectl("get", "deploy/unknown", "-n", "vizora-prod", "-o", "json")
    assert "portz" not in json.loads(stored.stdout)["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("old", "new", "cause"),
    [
        (
            "    metadata:\n      labels:\n        app: vizora-middleware\n",
            "    metadata:\n      labels:\n        app: vizora-middleware\n        bad key!: x\n",
            'spec.template.metadata.labels: Invalid value: "bad key!": name part must consist '
            "of alphanumeric characters",
        ),
        (
            "containerPort: 3000",
            "containerPort: 70000",
            "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: "
            "must be between 1 and 65535, inclusive",
        ),
    ],
    ids=["label-key", "port-range"],
)
def test_invalid_fields_are_422_with_their_paths(kubectl, old, new, cause):
    refused = kubectl.apply(deployment("fields").replace(old, new))
    assert refused.returncode == 1
    assert refused.stderr.startswith(f'The Deployment "fields" is invalid: {cause}')


def test_a_malformed_quantity_cannot_be_decoded(kubectl):
    refused = kubectl.apply(deployment("qty").replace('memory: "256Mi"', 'memory: "lots"'))
    assert refused.returncode == 1
    assert refused.stderr.endswith(
        "cannot be handled as a Deployment: quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n"
    )


# --- through the Python client and plain HTTP, as the portal would meet them --------------


def post_deployment(kubesim, body: dict, collection: str = "/apis/apps/v1/{}/deployments"):
    """POST as the Python client does it, minus the client's own checks (it refuses
    `name: True` before sending)."""
    path = collection.format(f"namespaces/{NAMESPACE}")
    request = urllib.request.Request(
        f"{kubesim.api_url('production')}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), json.loads(error.read())


def test_a_wrongly_typed_field_is_a_400_and_nothing_is_stored(kubesim, apps):
    manifest = deployment_manifest("py-env-bool", "example/app:1.0.0")
    manifest["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": True}]
    code, _, status = post_deployment(kubesim, manifest)
    assert (code, status["reason"], status["message"]) == (400, "BadRequest", ENV_BOOL)
    with pytest.raises(client.ApiException) as missing:
        apps.read_namespaced_deployment("py-env-bool", NAMESPACE)
    assert missing.value.status == 404


def test_an_invalid_name_is_a_422_status_with_field_causes(kubesim):
    code, _, status = post_deployment(kubesim, deployment_manifest("Bad_Name", "example/app:1"))
    assert (code, status["reason"], status["details"]["kind"]) == (422, "Invalid", "Deployment")
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "field": "metadata.name",
            "message": f'Invalid value: "Bad_Name": {SUBDOMAIN}',
        }
    ]


def test_without_field_validation_an_unknown_field_is_dropped_with_a_warning(kubesim, apps):
    body = deployment_manifest("py-unknown", "example/app:1.0.0")
    body["spec"]["colour"] = "blue"
    code, headers, created = post_deployment(kubesim, body)
    assert (code, headers["Warning"]) == (201, '299 - "unknown field \\"spec.colour\\""')
    assert "colour" not in created["spec"]
    assert apps.read_namespaced_deployment("py-unknown", NAMESPACE).spec.replicas == 3


INGRESS = (Path(__file__).parent / "manifests" / "20-ingress.yaml").read_text()
HPA = MIDDLEWARE.split("---")[2]
SERVICE_PORTS = (
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: two-ports\n  namespace: vizora-prod\n"
    "spec:\n  ports:\n  - port: 80\n  - port: 443\n"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            INGRESS.replace("        pathType: Prefix\n", "", 1),
            'The Ingress "vizora-ingress" is invalid: spec.rules[0].http.paths[0].pathType: '
            "Required value: pathType must be specified\n",
        ),
        (
            HPA.replace("maxReplicas: 10", "maxReplicas: 2"),
            'The HorizontalPodAutoscaler "vizora-middleware-hpa" is invalid: spec.maxReplicas: '
            "Invalid value: 2: must be greater than or equal to `minReplicas`\n",
        ),
        (
            SERVICE_PORTS,
            'The Service "two-ports" is invalid: \n* spec.ports[0].name: Required value\n'
            "* spec.ports[1].name: Required value\n",
        ),
    ],
    ids=["ingress-path-type", "hpa-replicas", "service-port-names"],
)
def test_each_kind_refuses_what_its_api_server_validation_refuses(kubectl, text, message):
    refused = kubectl.apply(text)
    assert (refused.returncode, refused.stdout, refused.stderr) == (1, "", message)


def test_a_missing_field_is_a_required_value_cause(kubesim):
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "no-ports"}}
    code, _, status = post_deployment(kubesim, service, "/api/v1/{}/services")
    assert (code, status["message"]) == (
        422,
        'Service "no-ports" is invalid: spec.ports: Required value',
    )
    assert status["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.ports"}
    ]


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        (
            "Deployment",
            {"spec": {"replicas": "3"}},
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of "
            "type int32",
        ),
        (
            "Deployment",
            {"spec": {"replicas": 1.5}},
            "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas "
            "of type int32",
        ),
        (
            "Deployment",
            {"metadata": {"labels": {"tier": 1}}},
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of "
            "type string",
        ),
        (
            "Service",
            {"spec": {"ports": {"port": 80}}},
            "json: cannot unmarshal object into Go struct field ServiceSpec.spec.ports of type "
            "[]v1.ServicePort",
        ),
        (
            "Service",
            {"spec": {"ports": [{"port": 80, "targetPort": True}]}},
            "json: cannot unmarshal bool into Go value of type int32",
        ),
    ],
    ids=["string-for-int", "fraction-for-int", "number-label", "object-for-list", "intstr"],
)
def test_decoding_errors_name_the_go_field_and_type(kind, body, message):
    with pytest.raises(ApiError) as refused:
        Decoder(kind, None).decode(body)
    assert (refused.value.code, refused.value.message) == (
        400,
        f'{kind} in version "v1" cannot be handled as a {kind}: {message}',
    )


def test_strict_decoding_lists_every_unknown_field_and_warn_drops_them():
    body = {"spec": {"colour": "blue", "template": {"spec": {"containers": [{"nam": "x"}]}}}}
    with pytest.raises(ApiError) as refused:
        Decoder("Deployment", "Strict").decode(body)
    assert refused.value.message.endswith(
        'strict decoding error: unknown field "spec.colour", unknown field '
        '"spec.template.spec.containers[0].nam"'
    )
    lenient = Decoder("Deployment", "Warn")
    assert lenient.decode(body) == {"spec": {"template": {"spec": {"containers": [{}]}}}}
    assert lenient.warnings() == [
        'unknown field "spec.colour"',
        'unknown field "spec.template.spec.containers[0].nam"',
    ]
