"""Customers get a name-in-city identity (kind "name") beside their phones and emails, for duplicate checks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:00:00
"""

import sqlalchemy as sa
from alembic import op

from guanxi.kit.normalize import name_identity

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BATCH = 20_000


def upgrade() -> None:
    conn = op.get_bind()
    rows = sa.text("SELECT id, workspace_id, name, city FROM customers WHERE id > :after ORDER BY id LIMIT :n")
    add = sa.text("INSERT INTO customer_identities (workspace_id, customer_id, kind, value) VALUES (:w, :c, 'name', :v)")
    after = 0
    while True:
        batch = conn.execute(rows, {"after": after, "n": BATCH}).all()
        if not batch:
            break
        values = []
        for cid, ws, name, city in batch:
            ident = name_identity(name, city)
            if ident:
                values.append({"w": ws, "c": cid, "v": ident[1]})
        if values:
            conn.execute(add, values)
        after = batch[-1][0]
    if after:  # the planner needs to know the table grew (see 0002)
        conn.execute(sa.text("ANALYZE customer_identities"))


def downgrade() -> None:
    op.execute("DELETE FROM customer_identities WHERE kind = 'name'")
