"""Contact merges recorded so that they can be undone (撤销合并 in the recycle bin); what an import's "update"
does to an existing record: fill its empty fields (the new default) or overwrite them — imports made before ran
with overwrite, and keep it if they are resumed; per-owner rows of the duplicate groups (a sales rep's duplicates
page), filled from the groups.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 07:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from guanxi.dedupe.repository import rebuild_owners_sync

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'contact_merges',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('workspace_id', ID, nullable=False),
        sa.Column('customer_id', ID, nullable=False),
        sa.Column('survivor_id', ID, nullable=False),
        sa.Column('merged_ids', JSON, nullable=False),
        sa.Column('state', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', ID, nullable=True),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('undone_by', ID, nullable=True),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_contact_merges_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contact_merges_customer_id_customers'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['survivor_id'], ['contacts.id'], name=op.f('fk_contact_merges_survivor_id_contacts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_contact_merges_created_by_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['undone_by'], ['users.id'], name=op.f('fk_contact_merges_undone_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_merges')),
    )
    op.create_index('ix_contact_merges_ws', 'contact_merges', ['workspace_id', 'id'])
    op.create_index('ix_contact_merges_customer', 'contact_merges', ['customer_id', 'id'])

    op.create_table(
        'duplicate_group_owners',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('workspace_id', ID, nullable=False),
        sa.Column('entity', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('value', sa.String(length=254), nullable=False),
        sa.Column('owner_id', ID, nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('anchor_id', ID, nullable=False),
        sa.Column('group_id', ID, nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_duplicate_group_owners_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_duplicate_group_owners_owner_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id'], ['duplicate_groups.id'],
                                name=op.f('fk_duplicate_group_owners_group_id_duplicate_groups'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_group_owners')),
        sa.UniqueConstraint('workspace_id', 'entity', 'kind', 'value', 'owner_id', name='uq_duplicate_group_owners_key'),
    )
    conn = op.get_bind()
    rebuild_owners_sync(conn)
    # built after the load, as for the groups
    op.create_index('ix_duplicate_group_owners_walk', 'duplicate_group_owners',
                    ['workspace_id', 'entity', 'owner_id', 'anchor_id', 'group_id'])
    op.create_index('ix_duplicate_group_owners_group', 'duplicate_group_owners', ['group_id'])
    # a table filled in one go has no statistics until autovacuum comes by: PostgreSQL then walked the whole
    # workspace on ix_duplicate_group_owners_walk for every recount (75 ms of a customer create at 1,000,000
    # customers) instead of the unique key (0.1 ms). Give it and the groups statistics now (see 0002).
    for table in ("duplicate_group_owners", "duplicate_groups"):
        op.execute(f"ANALYZE {table}")

    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('update_fields', sa.String(length=10), nullable=True))
    op.execute("UPDATE imports SET update_fields = 'overwrite'")
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.alter_column('update_fields', existing_type=sa.String(length=10), nullable=False)


def downgrade() -> None:
    op.drop_index('ix_duplicate_group_owners_group', table_name='duplicate_group_owners')
    op.drop_index('ix_duplicate_group_owners_walk', table_name='duplicate_group_owners')
    op.drop_table('duplicate_group_owners')
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.drop_column('update_fields')
    op.drop_index('ix_contact_merges_customer', table_name='contact_merges')
    op.drop_index('ix_contact_merges_ws', table_name='contact_merges')
    op.drop_table('contact_merges')
