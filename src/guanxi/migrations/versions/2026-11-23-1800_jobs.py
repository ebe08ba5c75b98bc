"""Jobs: the job outbox (work for the background queue, written in the same transaction as the change).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
OPEN = sa.text("status IN ('pending', 'running')")


def upgrade() -> None:
    op.create_table('job_outbox',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('workspace_id', ID, nullable=True),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_job_outbox_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_job_outbox_key'))
    )
    with op.batch_alter_table('job_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_job_outbox_open', ['next_attempt_at'], unique=False, sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.create_index('ix_job_outbox_ws_status', ['workspace_id', 'status', 'id'], unique=False)


def downgrade() -> None:
    op.drop_table('job_outbox')
