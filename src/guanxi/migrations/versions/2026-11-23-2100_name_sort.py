"""Customers sort by name in pinyin order (name_sort, search.sort_key, with its own index); search ranks in SQL
against the folded name (name_fold, search.fold_name).

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-23 21:00:00
"""

import sqlalchemy as sa
from alembic import op

from guanxi.kit.search import fold_name, sort_key

revision = '0009'
down_revision = '0005'
branch_labels = None
depends_on = None

BATCH = 20_000
LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.add_column('customers', sa.Column('name_sort', sa.String(length=200), nullable=True))
    op.add_column('customers', sa.Column('name_fold', sa.String(length=200), nullable=True))
    conn = op.get_bind()
    rows = sa.text("SELECT id, name FROM customers WHERE id > :after ORDER BY id LIMIT :n")
    put = sa.text("UPDATE customers SET name_sort = :k, name_fold = :f WHERE id = :i")
    after = 0
    while batch := conn.execute(rows, {"after": after, "n": BATCH}).all():
        conn.execute(put, [{"i": i, "k": sort_key(name), "f": fold_name(name)} for i, name in batch])
        after = batch[-1][0]
    op.create_index('ix_customers_ws_name_sort', 'customers', ['workspace_id', 'name_sort', 'id'],
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index('ix_customers_ws_stage_name', 'customers', ['workspace_id', 'stage', 'name_sort', 'id'],
                    sqlite_where=LIVE, postgresql_where=LIVE)
    if after:  # a new index on an analyzed database needs statistics (see 0002)
        conn.execute(sa.text("ANALYZE customers"))


def downgrade() -> None:
    op.drop_index('ix_customers_ws_stage_name', table_name='customers')
    op.drop_index('ix_customers_ws_name_sort', table_name='customers')
    with op.batch_alter_table('customers') as batch_op:
        batch_op.drop_column('name_sort')
        batch_op.drop_column('name_fold')
