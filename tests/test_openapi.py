"""The OpenAPI document (design brief section 5): served at /api/schema/, valid, with security per caller."""

from __future__ import annotations

from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient


@pytest.fixture(scope="module")
def schema() -> dict:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_schema_is_served_without_credentials_as_valid_openapi_3(schema):
    # given the document served at /api/schema/
    # when it is checked against the OpenAPI 3 JSON schema
    validate_schema(schema)  # raises on an invalid document
    # then it is an OpenAPI 3 document of this API
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "TokenLoop API"


def test_schema_is_also_served_as_yaml():
    # given a client asking with no preference
    # when it reads /api/schema/
    response = APIClient().get("/api/schema/")
    # then it gets the same document in YAML
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["paths"]["/api/actions"]


def test_ingest_is_documented_with_the_api_key_scheme(schema):
    # given the document
    operation = schema["paths"]["/api/actions"]["post"]
    # when its ingest operation is read
    # then it takes the batch body and is secured by ApiKey only
    assert operation["security"] == [{"ApiKey": []}]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "actions" in schema["components"]["schemas"][body]["properties"]
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["ApiKey"]["description"],
    }


def test_protection_is_documented_with_the_player_jwt_scheme(schema):
    # given the document
    path = schema["paths"]["/api/me/protection"]
    # when its protection operations are read
    # then GET and PUT are secured by the player's bearer JWT only
    assert set(path) >= {"get", "put"}
    assert path["get"]["security"] == [{"PlayerJWT": []}]
    assert path["put"]["security"] == [{"PlayerJWT": []}]
    jwt_scheme = schema["components"]["securitySchemes"]["PlayerJWT"]
    assert (jwt_scheme["type"], jwt_scheme["scheme"], jwt_scheme["bearerFormat"]) == ("http", "bearer", "JWT")


@pytest.mark.parametrize(
    ("path", "method", "security"),
    [
        ("/api/wallet/spend", "post", [{"ApiKey": []}]),
        ("/api/wallet/purchase", "post", [{"ApiKey": []}]),
        ("/api/me/wallet", "get", [{"PlayerJWT": []}]),
        ("/api/users/{user_id}/wallet", "get", [{"ApiKey": []}, {"cookieAuth": []}]),
        ("/api/me/notifications", "get", [{"PlayerJWT": []}]),
        ("/api/corporate/webhook", "post", []),
        ("/api/users/{user_id}/segment", "get", [{"ApiKey": []}, {"cookieAuth": []}]),
        ("/api/users/{user_id}/age-verification", "post", [{"ApiKey": []}]),
        ("/api/me/content", "get", [{"PlayerJWT": []}]),
        ("/api/me/content/{content_id}/unlock", "post", [{"PlayerJWT": []}]),
    ],
)
def test_every_endpoint_is_documented_with_its_callers_scheme(schema, path, method, security):
    # given the document
    # when an endpoint of the wallet, Company A or notifications is read
    operation = schema["paths"][path][method]
    # then it is there, secured by exactly its caller's scheme (Company A signs the body instead)
    assert sorted(operation.get("security", []), key=str) == sorted(security, key=str)


def test_spectacular_validates_without_warnings(tmp_path):
    # given the management command drf-spectacular ships
    target = tmp_path / "schema.yaml"
    # when it generates the schema, validating it and failing on any warning
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), stderr=StringIO())
    # then it succeeds and writes the document
    assert "/api/actions" in yaml.safe_load(target.read_text())["paths"]


def test_the_limits_are_documented_once_and_referenced(schema):
    # given the document
    responses = schema["components"]["responses"]
    # then 413 and 429 are declared once (429 with Retry-After), with the error body
    assert "Retry-After" in responses["Throttled"]["headers"]
    assert responses["RequestTooLarge"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    # and referenced where they apply: ingest (a body, a service key) both; Company A's webhook (a body, no caller
    # to throttle) 413 only; a player's GET 429 only
    ingest = schema["paths"]["/api/actions"]["post"]["responses"]
    assert ingest["413"] == {"$ref": "#/components/responses/RequestTooLarge"}
    assert ingest["429"] == {"$ref": "#/components/responses/Throttled"}
    webhook = schema["paths"]["/api/corporate/webhook"]["post"]["responses"]
    assert "413" in webhook and "429" not in webhook
    wallet = schema["paths"]["/api/me/wallet"]["get"]["responses"]
    assert "429" in wallet and "413" not in wallet


def test_every_operation_documents_the_503_of_an_unreachable_database(schema):
    # given the document
    unavailable = schema["components"]["responses"]["ServiceUnavailable"]
    # then the 503 is declared once, with Retry-After and the error body
    assert "Retry-After" in unavailable["headers"]
    assert unavailable["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    # and every operation refers to it (any of them may find the database restarting)
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
        and "responses" in operation
        and operation["responses"].get("503") != {"$ref": "#/components/responses/ServiceUnavailable"}
    ]
    assert missing == []
