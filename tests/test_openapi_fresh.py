"""The committed OpenAPI copy (the UI's types come from it) matches what the server serves."""
from pathlib import Path

from tests.test_cli import guanxi


def test_openapi_document_is_committed_fresh(tmp_path):
    committed = Path(__file__).parent.parent / "frontend" / "openapi.json"
    r = guanxi(tmp_path, "openapi")
    assert r.returncode == 0
    assert committed.exists(), "frontend/openapi.json is missing: run `make client`"
    assert r.stdout == committed.read_text(), "frontend/openapi.json is stale: run `make client`"
