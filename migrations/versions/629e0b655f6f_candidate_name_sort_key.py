"""candidate name sort key

Revision ID: 629e0b655f6f
Revises: acb40bf33e7d
Create Date: 2026-11-23 14:23:55.358819

"""
from alembic import op
import sqlalchemy as sa

import database  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '629e0b655f6f'
down_revision = 'acb40bf33e7d'
branch_labels = None
depends_on = None

BATCH = 1000

# No batch_alter_table here: on SQLite it would copy the candidate table and drop the old one, and with
# PRAGMA foreign_keys=ON (database.py) dropping it deletes every invitation, attempt, consent and report row
# that cascades from a candidate. ADD COLUMN with a constant default, CREATE INDEX and (SQLite 3.35+) DROP COLUMN
# all change the table in place.


def upgrade():
    op.add_column('candidate', sa.Column('name_key', sa.String(length=240), nullable=False, server_default=''))

    # Existing names, lowercased in Python as the model does (candidates.models.name_key_for): SQLite's lower()
    # leaves every letter outside ASCII as it is. A batch at a time, in id order, so memory stays flat.
    bind = op.get_bind()
    candidate = sa.table('candidate', sa.column('id', sa.Integer), sa.column('name', sa.String),
                         sa.column('name_key', sa.String))
    rename = (
        sa.update(candidate)
        .where(candidate.c.id == sa.bindparam('b_id'))
        .values(name_key=sa.bindparam('b_name_key'))
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(candidate.c.id, candidate.c.name)
            .where(candidate.c.id > last)
            .order_by(candidate.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(rename, [{'b_id': row.id, 'b_name_key': row.name.lower()} for row in rows])
        last = rows[-1].id

    # New rows get their key from the model. SQLite cannot drop a column default in place, so there the
    # unused DEFAULT '' stays (Alembic does not compare server defaults here).
    if bind.dialect.name != 'sqlite':
        op.alter_column('candidate', 'name_key', server_default=None)
    op.create_index('ix_candidate_agency_id_name_key', 'candidate', ['agency_id', 'name_key', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_candidate_agency_id_name_key', table_name='candidate')
    op.drop_column('candidate', 'name_key')
