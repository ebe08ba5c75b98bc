"""Imports: uploaded files with their mapping, progress and checkpoint, and the rows that failed; the built-in
roles that create activities and tasks may import them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 21:00:00
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ACTIVE = sa.text("status IN ('queued', 'running')")
ORDER = ["view", "create", "edit", "delete", "import", "export"]  # as authz.core.ACTIONS lists them
GRANTS = {"admin": ("activities", "tasks"), "manager": ("activities", "tasks"), "sales": ("activities", "tasks")}


def _grant(add: bool) -> None:
    roles = sa.table('roles', sa.column('id', ID), sa.column('key', sa.String()), sa.column('builtin', sa.Boolean()),
                     sa.column('permissions', JSON))
    bind = op.get_bind()
    rows = bind.execute(sa.select(roles.c.id, roles.c.key, roles.c.permissions)
                        .where(roles.c.builtin.is_(True), roles.c.key.in_(list(GRANTS)))).all()
    for role_id, key, permissions in rows:
        perms = dict(json.loads(permissions) if isinstance(permissions, str) else (permissions or {}))
        for module in GRANTS[key]:
            actions = [a for a in perms.get(module, []) if a != "import"]
            if add and module in perms:
                actions.append("import")
            perms[module] = sorted(actions, key=lambda a: ORDER.index(a) if a in ORDER else len(ORDER))
        bind.execute(roles.update().where(roles.c.id == role_id).values(permissions=perms))


def upgrade() -> None:
    op.create_table('imports',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('workspace_id', ID, nullable=False),
    sa.Column('created_by', ID, nullable=True),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=True),
    sa.Column('delimiter', sa.String(length=1), nullable=True),
    sa.Column('storage_path', sa.String(length=300), nullable=False),
    sa.Column('headers', JSON, nullable=False),
    sa.Column('header_hash', sa.String(length=64), nullable=False),
    sa.Column('sample', JSON, nullable=False),
    sa.Column('mapping', JSON, nullable=False),
    sa.Column('mapping_confirmed', sa.Boolean(), nullable=False),
    sa.Column('mapping_remembered', sa.Boolean(), nullable=False),
    sa.Column('duplicate_mode', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=True),
    sa.Column('checkpoint', sa.Integer(), nullable=False),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('error', JSON, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_imports_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_imports_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports'))
    )
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.create_index('ix_imports_ws_id', ['workspace_id', 'id'], unique=False)
        batch_op.create_index('ix_imports_ws_creator', ['workspace_id', 'created_by', 'id'], unique=False)
        batch_op.create_index('ix_imports_ws_type_header', ['workspace_id', 'type', 'header_hash', 'id'], unique=False)
        batch_op.create_index('ix_imports_active', ['locked_until'], unique=False, sqlite_where=ACTIVE,
                              postgresql_where=ACTIVE)
    op.create_table('import_failures',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('import_id', ID, nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('cells', JSON, nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_import_failures_import_id_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_failures'))
    )
    with op.batch_alter_table('import_failures', schema=None) as batch_op:
        batch_op.create_index('ix_import_failures_import', ['import_id', 'line'], unique=False)
    _grant(True)


def downgrade() -> None:
    _grant(False)
    op.drop_table('import_failures')
    op.drop_table('imports')
