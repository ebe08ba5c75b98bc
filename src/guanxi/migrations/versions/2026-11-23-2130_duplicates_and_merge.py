"""Duplicates and merge: contact identities, duplicate groups kept current, dismissed groups, merge records, and
customers marked as merged into another.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 21:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from guanxi.dedupe.repository import fill_contact_identities_sync, rebuild_groups_sync

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', ID, nullable=True))
        batch_op.add_column(sa.Column('merge_id', ID, nullable=True))

    op.create_table(
        'contact_identities',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('workspace_id', ID, nullable=False),
        sa.Column('contact_id', ID, nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('value', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_identities_contact_id_contacts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_contact_identities_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_identities')),
    )
    op.create_table(
        'duplicate_groups',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('workspace_id', ID, nullable=False),
        sa.Column('entity', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('value', sa.String(length=254), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('anchor_id', ID, nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_duplicate_groups_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_groups')),
        sa.UniqueConstraint('workspace_id', 'entity', 'kind', 'value', name='uq_duplicate_groups_key'),
    )
    op.create_index('ix_duplicate_groups_walk', 'duplicate_groups', ['workspace_id', 'entity', 'anchor_id', 'id'])
    op.create_table(
        'duplicate_dismissals',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('workspace_id', ID, nullable=False),
        sa.Column('entity', sa.String(length=10), nullable=False),
        sa.Column('member_key', sa.String(length=64), nullable=False),
        sa.Column('member_ids', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', ID, nullable=True),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_duplicate_dismissals_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_duplicate_dismissals_created_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_dismissals')),
    )
    op.create_index('ix_duplicate_dismissals_key', 'duplicate_dismissals', ['workspace_id', 'entity', 'member_key'])
    op.create_table(
        'customer_merges',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('workspace_id', ID, nullable=False),
        sa.Column('survivor_id', ID, nullable=False),
        sa.Column('merged_ids', JSON, nullable=False),
        sa.Column('state', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', ID, nullable=True),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('undone_by', ID, nullable=True),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_customer_merges_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['survivor_id'], ['customers.id'], name=op.f('fk_customer_merges_survivor_id_customers'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_customer_merges_created_by_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['undone_by'], ['users.id'], name=op.f('fk_customer_merges_undone_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_merges')),
    )
    op.create_index('ix_customer_merges_survivor', 'customer_merges', ['survivor_id', 'id'])

    conn = op.get_bind()
    filled = fill_contact_identities_sync(conn)
    # built after the load: one sort instead of a million index insertions
    op.create_index('ix_contact_identities_contact_id', 'contact_identities', ['contact_id'])
    op.create_index('ix_contact_identities_lookup', 'contact_identities', ['workspace_id', 'kind', 'value'])
    rebuild_groups_sync(conn)
    if filled:  # the planner needs to know the tables grew (see 0002)
        conn.execute(sa.text("ANALYZE contact_identities"))
        conn.execute(sa.text("ANALYZE duplicate_groups"))


def downgrade() -> None:
    op.drop_index('ix_customer_merges_survivor', table_name='customer_merges')
    op.drop_table('customer_merges')
    op.drop_index('ix_duplicate_dismissals_key', table_name='duplicate_dismissals')
    op.drop_table('duplicate_dismissals')
    op.drop_index('ix_duplicate_groups_walk', table_name='duplicate_groups')
    op.drop_table('duplicate_groups')
    op.drop_index('ix_contact_identities_lookup', table_name='contact_identities')
    op.drop_index('ix_contact_identities_contact_id', table_name='contact_identities')
    op.drop_table('contact_identities')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('merge_id')
        batch_op.drop_column('merged_into_id')
