"""Custom fields get an English label (options carry theirs in the options JSON).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('custom_fields', sa.Column('label_en', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('custom_fields') as batch_op:
        batch_op.drop_column('label_en')
