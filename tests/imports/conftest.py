"""Helpers for import tests: upload a file through the API and run the import the way the job does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from guanxi.config import Settings
from guanxi.db import Database
from guanxi.imports import runner
from tests.fixtures.factories import World, call


async def upload(client: httpx.AsyncClient, w: World, who: str, name: str, data: bytes, type_: str = "customers",
                 **kw: Any) -> httpx.Response:
    return await call(client, w, who, "POST", "/api/v1/imports", files={"file": (name, data)},
                      data={"type": type_}, **kw)


async def run_to_end(client: httpx.AsyncClient, db: Database, settings: Settings, w: World, who: str, import_id: int,
                     mapping: dict[str, Any] | None = None, mode: str = "skip") -> dict[str, Any]:
    if mapping is not None or mode != "skip":
        r = await call(client, w, who, "GET", f"/api/v1/imports/{import_id}")
        body = {"mapping": mapping if mapping is not None else r.json()["mapping"], "duplicate_mode": mode}
        r = await call(client, w, who, "PUT", f"/api/v1/imports/{import_id}/mapping", json=body)
        assert r.status_code == 200, r.text
    r = await call(client, w, who, "POST", f"/api/v1/imports/{import_id}/run")
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"
    assert await runner.run_import(db, settings, import_id) == "done"
    r = await call(client, w, who, "GET", f"/api/v1/imports/{import_id}")
    assert r.status_code == 200
    return r.json()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
