"""Idempotency-Key for creates: the same key and body replay the first response; another body is a 422."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.audit.models import IdempotencyRecord
from guanxi.authz.core import Principal
from guanxi.kit.errors import Problem


class Idempotency:
    def __init__(self, session: AsyncSession, p: Principal, route: str, key: str | None, body: BaseModel) -> None:
        self.session, self.p, self.route, self.key = session, p, route, key
        dumped = json.dumps(body.model_dump(mode="json", exclude_unset=True), sort_keys=True)
        self.body_hash = hashlib.sha256(dumped.encode()).hexdigest()

    async def replay(self) -> JSONResponse | None:
        """The stored response when this key was used before with the same body."""
        if not self.key:
            return None
        prior = await self.session.scalar(select(IdempotencyRecord).where(
            IdempotencyRecord.workspace_id == self.p.workspace_id, IdempotencyRecord.user_id == self.p.user_id,
            IdempotencyRecord.route == self.route, IdempotencyRecord.key == self.key))
        if prior is None:
            return None
        if prior.body_hash != self.body_hash:
            raise Problem(422, "idempotency_key_reused")
        return JSONResponse(prior.response, status_code=prior.status,
                            headers={"Idempotent-Replayed": "true", "ETag": f'"{prior.response.get("version")}"'})

    def remember(self, status: int, payload: dict[str, Any]) -> None:
        """Stored in the same transaction as the create, so a rollback forgets the key too."""
        if self.key:
            self.session.add(IdempotencyRecord(workspace_id=self.p.workspace_id, user_id=self.p.user_id, key=self.key,
                                               route=self.route, body_hash=self.body_hash, status=status,
                                               response=payload))
