import pytest

pytestmark = pytest.mark.anyio


async def test_health_names_the_database(client, db):
    r = await client.get("/api/health")
    assert r.status_code == 200
    assert r.json()["database"] == db.kind
    assert r.json()["status"] == "ok"


async def test_openapi_and_docs_are_served(client):
    spec = (await client.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/customers" in spec["paths"]
    assert (await client.get("/api/docs")).status_code == 200


async def test_unknown_api_path_is_a_problem(client):
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "not_found"


async def test_security_headers_and_no_store_on_the_api(client):
    r = await client.get("/api/health")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    docs = await client.get("/api/docs")
    assert "content-security-policy" not in docs.headers  # the interactive docs load their own assets
