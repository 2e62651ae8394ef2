"""Property-based fuzzing of the public API from its own OpenAPI document (in process).

Schemathesis generates valid and invalid requests for every operation; the API must never
answer 5xx, and every answer must match the document. (Driven through Hypothesis directly:
schemathesis' pytest plugin does not run under pytest 9.)
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

# (the document itself is skipped)
OPERATIONS = ["GET /api/v1/nearest", "POST /api/v1/nearest", "GET /api/v1/stations",
              "GET /api/v1/stations/{id}", "GET /api/v1/districts", "GET /api/v1/coverage",
              "GET /healthz",
              *(f"GET /api/v1/exports/stations.{fmt}" for fmt in ("csv", "geojson", "gpkg",
                                                                  "xlsx"))]


def bbox_is_valid(bbox) -> bool:
    if isinstance(bbox, str):
        bbox = bbox.split(",")
    if bbox is None or not isinstance(bbox, list | tuple) or len(bbox) != 4:
        return True  # absent or malformed: schemathesis' own checks judge it
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return True
    return -90 <= s <= 90 and -90 <= n <= 90 and w <= e and s <= n


@pytest.fixture(scope="module")
def api_schema(demo_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", demo_app)


def test_the_document_lists_every_operation(api_schema):
    found = {op.ok().label for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_conforms_and_never_fails(api_schema, label):
    operation = next(op.ok() for op in api_schema.get_all_operations()
                     if op.ok().label == label)

    @given(case=operation.as_strategy())
    @settings(max_examples=80, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def check(case):
        # the in-process WSGI transport does not decompress: ask for identity encoding
        response = case.call(headers={"Accept-Encoding": "identity"})
        assert response.status_code < 500, response.text
        if not bbox_is_valid((case.query or {}).get("bbox")):
            # lat beyond ±90 or min > max: the document says 400, the schema can't express it
            assert response.status_code == 400 and response.json()["error"] == "bad_parameter"
            return
        case.validate_response(response)

    check()
