"""PostgreSQL finds search candidates with pg_trgm and a gram index instead of prefix queries on the tsvector.

`guanxi_search_text` is what a customer is found by: the folded name, its pinyin spellings and initials
(`name_pinyin`), the digits of every phone, folded emails and the WeChat id. A term of three or more characters
is a `LIKE '%term%'` on a pg_trgm GIN index of that text; a term of two characters (any kind), or one Chinese
character, is an exact element of `guanxi_search_grams` (its two-character grams and Chinese characters, phones
left out). Both are expression indexes over columns the app already keeps, so every write (create, update,
merge, import, undo) keeps them current without code, and building them needs no pass in Python.

The tsvector column `search` (every suffix of the name and of its pinyin, phone suffixes) is dropped: nothing
reads it any more, and keeping it cost every write a second UPDATE. SQLite keeps FTS5. On both databases, customers without a name sort key get one (the name sort pages with a
row-value condition that needs it).

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-06 07:00:00
"""

import sqlalchemy as sa
from alembic import op

from guanxi.kit.search import document, sort_key

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
    # the name sort pages with one row-value condition, which needs name_sort on every row (0009 filled it;
    # every writer sets it): fill any row that still lacks it
    rows = conn.execute(sa.text("SELECT id, name FROM customers WHERE name_sort IS NULL")).all()
    if rows:
        conn.execute(sa.text("UPDATE customers SET name_sort = :k WHERE id = :i"),
                     [{"i": i, "k": sort_key(name or "")} for i, name in rows])
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
    # the tsvector of every suffix of the name and its pinyin is no longer read: dropping it saves a second UPDATE
    # (and ~100 GIN entries) on every write
    op.execute("DROP INDEX IF EXISTS ix_customers_search")
    op.execute("ALTER TABLE customers DROP COLUMN IF EXISTS search")
    conn.execute(sa.text("ANALYZE customers"))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE customers ADD COLUMN search tsvector")
    rows = sa.text("SELECT c.id, c.name, c.wechat, "
                   "array(SELECT i.kind || ':' || i.value FROM customer_identities i WHERE i.customer_id = c.id) "
                   "FROM customers c WHERE c.id > :after ORDER BY c.id LIMIT :n")
    put = sa.text("UPDATE customers SET search = to_tsvector('simple', d.doc) "
                  "FROM unnest(CAST(:ids AS bigint[]), CAST(:docs AS text[])) AS d(id, doc) WHERE customers.id = d.id")
    after = 0
    while batch := conn.execute(rows, {"after": after, "n": 20_000}).all():
        docs = []
        for _, name, wechat, idents in batch:
            kv = [x.split(":", 1) for x in idents]
            docs.append(document(name, [v for k, v in kv if k == "phone"], [v for k, v in kv if k == "email"],
                                 [wechat or ""]))
        conn.execute(put, {"ids": [r[0] for r in batch], "docs": docs})
        after = batch[-1][0]
    op.execute("CREATE INDEX ix_customers_search ON customers USING gin (search)")
    op.execute("DROP INDEX IF EXISTS ix_customers_search_grams")
    op.execute("DROP INDEX IF EXISTS ix_customers_search_trgm")
    op.execute("DROP FUNCTION IF EXISTS guanxi_search_grams(text, text, jsonb, text)")
    op.execute("DROP FUNCTION IF EXISTS guanxi_search_text(text, text, jsonb, jsonb, text)")
    op.execute("DROP FUNCTION IF EXISTS guanxi_search_grams_text(text, text, jsonb, text)")
