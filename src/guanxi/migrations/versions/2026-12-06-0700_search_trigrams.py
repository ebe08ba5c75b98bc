"""PostgreSQL finds search candidates with pg_trgm and a gram index instead of prefix queries on the tsvector.

`guanxi_search_text` is what a customer is found by: the folded name, its pinyin spellings and initials
(`name_pinyin`), the digits of every phone, folded emails and the WeChat id. A term of three or more characters
is a `LIKE '%term%'` on a pg_trgm GIN index of that text; a term of two characters (any kind), or one Chinese
character, is an exact element of `guanxi_search_grams` (its two-character grams and Chinese characters, phones
left out). Both are expression indexes over columns the app already keeps, so every write (create, update,
merge, import, undo) keeps them current without code, and building them needs no pass in Python.

SQLite is unchanged (FTS5).

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-06 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0007'
branch_labels = None
depends_on = None

# Both functions are IMMUTABLE (they read only their arguments) so they can be indexed; the app's queries call
# them with the same arguments as the index definitions below (customers.repository.SEARCH_TEXT / SEARCH_GRAMS).
SEARCH_TEXT = """
CREATE OR REPLACE FUNCTION guanxi_search_text(name_fold text, name_pinyin text, phones jsonb, emails jsonb,
                                              wechat text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(name_fold, '') || ' ' || coalesce(name_pinyin, '') || ' '
      || translate(coalesce(phones::text, ''), ',[]" -()+', ' ') || ' '
      || guanxi_search_grams_text(NULL, NULL, emails, wechat)
$$
"""
# the part of the text that short terms look in: everything but the phones (a phone needs 4+ digits)
GRAMS_TEXT = """
CREATE OR REPLACE FUNCTION guanxi_search_grams_text(name_fold text, name_pinyin text, emails jsonb, wechat text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(name_fold, '') || ' ' || coalesce(name_pinyin, '') || ' '
      || translate(lower(coalesce(emails::text, '')), ',[]" @.-_+', ' ') || ' '
      || translate(lower(coalesce(wechat, '')), '_-. ', '')
$$
"""
GRAMS = """
CREATE OR REPLACE FUNCTION guanxi_search_grams(name_fold text, name_pinyin text, emails jsonb, wechat text)
RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  c text[] := regexp_split_to_array(guanxi_search_grams_text(name_fold, name_pinyin, emails, wechat), '');
  n int := cardinality(c);
  grams text[] := '{}';
BEGIN
  FOR i IN 1..n LOOP  -- GIN drops the repeats
    IF c[i] <> ' ' THEN
      IF i < n AND c[i + 1] <> ' ' THEN
        grams := grams || (c[i] || c[i + 1]);
      END IF;
      IF ascii(c[i]) >= 13312 THEN  -- U+3400: a Chinese character is a term of its own
        grams := grams || c[i];
      END IF;
    END IF;
  END LOOP;
  RETURN grams;
END
$$
"""
TEXT_ARGS = "name_fold, name_pinyin, phones, emails, wechat"
GRAMS_ARGS = "name_fold, name_pinyin, emails, wechat"


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(GRAMS_TEXT)
    op.execute(SEARCH_TEXT)
    op.execute(GRAMS)
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(f"CREATE INDEX ix_customers_search_trgm ON customers USING gin "
               f"(guanxi_search_text({TEXT_ARGS}) gin_trgm_ops) WHERE deleted_at IS NULL")
    op.execute(f"CREATE INDEX ix_customers_search_grams ON customers USING gin "
               f"(guanxi_search_grams({GRAMS_ARGS})) WHERE deleted_at IS NULL")
    conn.execute(sa.text("ANALYZE customers"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_customers_search_grams")
    op.execute("DROP INDEX IF EXISTS ix_customers_search_trgm")
    op.execute("DROP FUNCTION IF EXISTS guanxi_search_grams(text, text, jsonb, text)")
    op.execute("DROP FUNCTION IF EXISTS guanxi_search_text(text, text, jsonb, jsonb, text)")
    op.execute("DROP FUNCTION IF EXISTS guanxi_search_grams_text(text, text, jsonb, text)")
