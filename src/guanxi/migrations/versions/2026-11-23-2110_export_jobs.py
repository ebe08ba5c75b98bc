"""Export jobs (big exports written in the background, their files kept for a few days); the built-in admin and
manager roles may export tasks.

Revision ID: 0008
Revises: 0009
Create Date: 2026-11-23 21:00:00
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0009'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
HAS_FILE = sa.text('storage_path IS NOT NULL')
TASK_EXPORT = ('admin', 'manager')  # a copy: a migration must not change when the code does


def _task_export(add: bool) -> None:
    roles = sa.table('roles', sa.column('id', ID), sa.column('key', sa.String()), sa.column('builtin', sa.Boolean()),
                     sa.column('permissions', JSON))
    bind = op.get_bind()
    rows = bind.execute(sa.select(roles.c.id, roles.c.permissions)
                        .where(roles.c.builtin.is_(True), roles.c.key.in_(TASK_EXPORT))).all()
    for role_id, permissions in rows:
        perms = dict(json.loads(permissions) if isinstance(permissions, str) else (permissions or {}))
        actions = [a for a in perms.get('tasks', []) if a != 'export']
        perms['tasks'] = actions + (['export'] if add else [])
        bind.execute(roles.update().where(roles.c.id == role_id).values(permissions=perms))


def upgrade() -> None:
    op.create_table('export_jobs',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('workspace_id', ID, nullable=False),
    sa.Column('user_id', ID, nullable=False),
    sa.Column('list', sa.String(length=20), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('spec', JSON, nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('processed', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=True),
    sa.Column('total_capped', sa.Boolean(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('storage_path', sa.String(length=300), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('error_code', sa.String(length=60), nullable=True),
    sa.Column('error', sa.String(length=1000), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_export_jobs_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_export_jobs_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs'))
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_export_jobs_user', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_export_jobs_expiry', ['expires_at'], unique=False, sqlite_where=HAS_FILE,
                              postgresql_where=HAS_FILE)
    _task_export(True)


def downgrade() -> None:
    _task_export(False)
    op.drop_table('export_jobs')
