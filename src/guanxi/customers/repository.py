"""All SQL of the customers domain: scoped reads, keyset lists, filters, search index, identities."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
    tuple_,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from guanxi.accounts.models import Team, User
from guanxi.authz.core import Principal, record_scope
from guanxi.customers.models import Contact, Customer, CustomerIdentity, CustomFieldDef
from guanxi.kit import search
from guanxi.kit.errors import FieldError, Problem
from guanxi.kit.models import dialect, id_in
from guanxi.kit.pagination import COUNT_CAP, after
from guanxi.kit.schemas import ID_MAX, bad_text
from guanxi.kit.timeutil import DEFAULT_TZ, day_start, local_today

SEARCH_CAP = 300  # candidates ranked per search; names starting with the query always come first
FUZZY_LIMIT = 3000  # PostgreSQL: about how many entries the search indexes return for a frequent term
PREFIX_CAP = 50  # names equal to the query, and names starting with it, read beside the capped candidates


def scoped(p: Principal) -> ColumnElement[bool]:
    return record_scope(p, Customer.workspace_id, Customer.owner_id, Customer.team_id)


async def get(session: AsyncSession, p: Principal, customer_id: int, *, deleted: bool | None = False) -> Customer | None:
    q = select(Customer).where(Customer.id == customer_id, scoped(p))
    if deleted is False:
        q = q.where(Customer.deleted_at.is_(None))
    elif deleted is True:
        q = q.where(Customer.deleted_at.is_not(None))
    return (await session.scalars(q)).first()


async def names_for(session: AsyncSession, user_ids: Iterable[int | None], team_ids: Iterable[int | None]) -> tuple[dict[int, str], dict[int, str]]:
    """Owner and team names for a page of rows, in one round trip."""
    uids = sorted({u for u in user_ids if u is not None})
    tids = sorted({t for t in team_ids if t is not None})
    if not uids and not tids:
        return {}, {}
    parts: list[Any] = []
    if uids:
        parts.append(select(literal_column("'u'").label("k"), User.id, User.name).where(User.id.in_(uids)))
    if tids:
        parts.append(select(literal_column("'t'").label("k"), Team.id, Team.name).where(Team.id.in_(tids)))
    stmt: Any = union_all(*parts) if len(parts) > 1 else parts[0]
    rows = (await session.execute(stmt)).all()
    users = {r[1]: r[2] for r in rows if r[0] == "u"}
    teams = {r[1]: r[2] for r in rows if r[0] == "t"}
    return users, teams


async def core_rows(session: AsyncSession, stmt: Any, params: dict[str, Any] | None = None) -> Sequence[Any]:
    """The rows of a select of columns (never entities), run on the session's connection and transaction: the ORM's
    result handling costs ~0.1 ms more per statement of a 50-row page, for nothing here."""
    return (await (await session.connection()).execute(stmt, params)).all()


# Owner name, team name and live contact count as columns of the row query: one round trip per page.
# Built once: statement constructs are immutable, and building them per request showed in profiles.
_MERGED_INTO = aliased(Customer)
EXTRAS: tuple[Any, ...] = (
    select(User.name).where(User.id == Customer.owner_id).scalar_subquery().label("owner_name"),
    select(Team.name).where(Team.id == Customer.team_id).scalar_subquery().label("team_name"),
    select(func.count()).select_from(Contact)
    .where(Contact.customer_id == Customer.id, Contact.deleted_at.is_(None))
    .scalar_subquery().label("contact_count"),
    # only customers in the recycle bin after a merge have one: a primary-key probe of NULL elsewhere
    select(_MERGED_INTO.name).where(_MERGED_INTO.id == Customer.merged_into_id)
    .scalar_subquery().label("merged_into_name"),
)
ROW_COLUMNS: tuple[Any, ...] = (*Customer.__table__.c, *EXTRAS)


async def extras_for(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not customer_ids:
        return {}
    rows = await core_rows(session, select(Customer.id, *EXTRAS).where(id_in(dialect(session), Customer.id, customer_ids)))
    return {r[0]: dict(r._mapping) for r in rows}


async def rows_by_ids(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, Any]:
    """Plain rows (no ORM identity map) with their extras, by id."""
    if not customer_ids:
        return {}
    rows = await core_rows(session, select(*ROW_COLUMNS).where(id_in(dialect(session), Customer.id, customer_ids)))
    return {r.id: r._mapping for r in rows}


async def custom_defs(session: AsyncSession, workspace_id: int) -> list[CustomFieldDef]:
    return list(
        await session.scalars(
            select(CustomFieldDef)
            .where(CustomFieldDef.workspace_id == workspace_id, CustomFieldDef.entity == "customer")
            .order_by(CustomFieldDef.position, CustomFieldDef.id)
        )
    )


# ------------------------------------------------------------------ fields, filters and sorts

# name → (type, sortable)
STANDARD_FIELDS: dict[str, tuple[str, bool]] = {
    "name": ("text", True),
    "kind": ("enum", True),
    "industry": ("text", True),
    "size": ("enum", True),
    "province": ("text", True),
    "city": ("text", True),
    "district": ("text", True),
    "address": ("text", False),
    "phones": ("list", False),
    "emails": ("list", False),
    "wechat": ("text", False),
    "website": ("text", False),
    "source": ("enum", True),
    "stage": ("enum", True),
    "grade": ("enum", True),
    "tags": ("tags", False),
    "owner_id": ("user", True),
    "team_id": ("team", True),
    "birthday": ("date", True),
    "notes": ("text", False),
    "created_at": ("datetime", True),
    "updated_at": ("datetime", True),
    "deleted_at": ("datetime", True),
    # kept by the activities domain (see the last section of this file)
    "last_contacted_at": ("datetime", True),
    "idle_days": ("number", False),
}
CUSTOM_TYPES = {"text": "text", "number": "number", "money": "number", "date": "date", "select": "enum",
                "multiselect": "tags", "boolean": "boolean", "user": "user"}
OPS = {"eq", "ne", "in", "gte", "lte", "between", "contains", "empty", "notempty"}


@dataclass
class FieldRef:
    name: str
    type: str
    expr: Any
    json_list: str | None = None  # JSON path of a list value (tags, multiselect), for membership tests
    nullable: bool = True


def custom_ref(kind: str, d: CustomFieldDef) -> FieldRef:
    typ = CUSTOM_TYPES[d.type]
    if kind == "postgresql":
        col = type_coerce(Customer.custom, JSONB)
        raw = col[d.key]
        txt = col[d.key].astext
        if typ == "number":
            expr: Any = cast(txt, Numeric)
        elif typ == "user":
            expr = cast(txt, Numeric)
        elif typ == "tags":
            expr = raw
        else:
            expr = txt
    else:
        path = f"$.{d.key}"
        ext = func.json_extract(Customer.custom, path)
        expr = cast(ext, Float) if typ == "number" else ext
    return FieldRef(f"custom.{d.key}", typ, expr, json_list=f"$.{d.key}" if typ == "tags" else None)


def resolve_field(kind: str, name: str, defs: dict[str, CustomFieldDef]) -> FieldRef:
    if name.startswith("custom."):
        d = defs.get(name[7:])
        if d is None:
            raise Problem(400, "invalid_filter", errors=[FieldError(name, "unknown_field")])
        return custom_ref(kind, d)
    spec = STANDARD_FIELDS.get(name)
    if spec is None or name == IDLE_FIELD:  # idle_days is no column: parse_filters builds it, nothing sorts on it
        raise Problem(400, "invalid_filter", errors=[FieldError(name, "unknown_field")])
    return FieldRef(name, spec[0], getattr(Customer, name), json_list="$" if spec[0] in ("tags", "list") else None,
                    nullable=bool(Customer.__table__.c[name].nullable))


def _coerce(ref: FieldRef, raw: str) -> Any:
    try:
        if ref.type == "number":
            return float(Decimal(raw))
        if ref.type in ("user", "team"):
            n = int(raw)
            if not 1 <= n <= ID_MAX:
                raise ValueError
            return n
        if ref.type == "date":  # custom dates are ISO strings inside JSON
            d = date.fromisoformat(raw)
            return d.isoformat() if ref.name.startswith("custom.") else d
        if ref.type == "datetime":
            return datetime.fromisoformat(raw) if "T" in raw else datetime.combine(date.fromisoformat(raw), time())
        if ref.type == "boolean":
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return raw.lower() in ("true", "1")
    except (ValueError, InvalidOperation):
        raise Problem(400, "invalid_filter", errors=[FieldError(ref.name, "invalid_value")]) from None
    return raw


def _list_member(kind: str, ref: FieldRef, values: list[str]) -> ColumnElement[bool]:
    if kind == "postgresql":
        return or_(*[ref.expr.op("@>")(literal([v], type_=JSONB)) for v in values])
    je = func.json_each(Customer.custom if ref.name.startswith("custom.") else ref.expr, ref.json_list).table_valued("value")
    return exists(select(1).select_from(je).where(je.c.value.in_(values)))


def filter_clause(kind: str, ref: FieldRef, op: str, raw: str) -> ColumnElement[bool]:
    if op not in OPS:
        raise Problem(400, "invalid_filter", errors=[FieldError(ref.name, "invalid_option", f"unknown operator {op}")])
    expr = ref.expr
    if ref.type in ("tags", "list"):
        if op in ("contains", "in", "eq"):
            if ref.type == "list":  # phones, emails: a substring of any of them, spaces ignored
                flat = func.replace(func.lower(cast(expr, String)), " ", "")
                return flat.contains(raw.lower().replace(" ", ""), autoescape=True)
            return _list_member(kind, ref, [v for v in raw.replace("|", ",").split(",") if v])
        if op == "empty":
            return _list_empty(kind, ref)
        if op == "notempty":
            return not_(_list_empty(kind, ref))
        raise Problem(400, "invalid_filter", errors=[FieldError(ref.name, "invalid_option")])
    if op == "empty":
        return or_(expr.is_(None), expr == "") if ref.type in ("text", "enum") else expr.is_(None)
    if op == "notempty":
        return and_(expr.is_not(None), expr != "") if ref.type in ("text", "enum") else expr.is_not(None)
    if ref.type == "boolean":
        val = _coerce(ref, raw)
        if kind == "postgresql":
            return expr == ("true" if val else "false")
        return expr == (1 if val else 0)
    if op == "contains":
        if ref.type not in ("text", "enum"):
            raise Problem(400, "invalid_filter", errors=[FieldError(ref.name, "invalid_option")])
        return expr.contains(raw, autoescape=True)
    if op == "in":
        return expr.in_([_coerce(ref, v) for v in raw.replace("|", ",").split(",") if v != ""])
    if op == "between":
        lo, sep, hi = raw.partition("..")
        if not sep:
            raise Problem(400, "invalid_filter", errors=[FieldError(ref.name, "invalid_value")])
        parts = []
        if lo:
            parts.append(expr >= _coerce(ref, lo))
        if hi:
            parts.append(_upper(ref, expr, hi))
        return and_(*parts) if parts else true()
    value = _coerce(ref, raw)
    if ref.type in ("user", "team") and kind == "postgresql" and ref.name.startswith("custom."):
        value = Decimal(value)
    if op == "eq":
        return expr == value
    if op == "ne":
        return or_(expr != value, expr.is_(None))
    if op == "gte":
        return expr >= value
    return _upper(ref, expr, raw)


def _upper(ref: FieldRef, expr: Any, raw: str) -> ColumnElement[bool]:
    """An upper bound; a bare date on a timestamp includes that whole day."""
    if ref.type == "datetime" and "T" not in raw:
        return expr < _coerce(ref, raw) + timedelta(days=1)
    return expr <= _coerce(ref, raw)


def _list_empty(kind: str, ref: FieldRef) -> ColumnElement[bool]:
    if kind == "postgresql":
        return or_(ref.expr.is_(None), func.jsonb_array_length(ref.expr) == 0)
    base = Customer.custom if ref.name.startswith("custom.") else ref.expr
    return func.coalesce(func.json_array_length(base, ref.json_list), 0) == 0


def parse_filters(
    kind: str, raw_filters: list[str], defs: dict[str, CustomFieldDef], *, tz: str = DEFAULT_TZ
) -> list[ColumnElement[bool]]:
    clauses = []
    for raw in raw_filters:
        name, sep, rest = raw.partition(":")
        op, _, value = rest.partition(":")
        if not sep or not op or not name or bad_text(raw):
            raise Problem(400, "invalid_filter", errors=[FieldError(name or "filter", "invalid_value")])
        if name == IDLE_FIELD:
            clauses.append(idle_clause(op, value, tz))
            continue
        clauses.append(filter_clause(kind, resolve_field(kind, name, defs), op, value))
    return clauses


def sort_ref(kind: str, sort: str, defs: dict[str, CustomFieldDef]) -> tuple[FieldRef, bool]:
    desc = sort.startswith("-")
    name = sort.lstrip("-+")
    try:
        ref = resolve_field(kind, name, defs)
    except Problem:
        raise Problem(400, "invalid_sort", errors=[FieldError("sort", "invalid_option")]) from None
    if not name.startswith("custom.") and not STANDARD_FIELDS[name][1]:
        raise Problem(400, "invalid_sort", errors=[FieldError("sort", "invalid_option")])
    if ref.type == "tags":
        raise Problem(400, "invalid_sort", errors=[FieldError("sort", "invalid_option")])
    if name == "name":  # by pinyin, the way Chinese lists are ordered
        # every writer sets name_sort (and migrations 0009 / 0011 filled it): a cursor is one row-value range
        ref = FieldRef("name", "text", Customer.name_sort, nullable=False)
    return ref, desc


# ------------------------------------------------------------------ list


async def capped_count(session: AsyncSession, where: list[ColumnElement[bool]], cap: int = COUNT_CAP) -> tuple[int, bool]:
    sub = select(literal_column("1")).select_from(Customer).where(*where).limit(cap + 1).subquery()
    n = await session.scalar(select(func.count()).select_from(sub)) or 0
    return min(n, cap), n > cap


async def page(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    ref: FieldRef,
    desc: bool,
    limit: int,
    cursor_position: tuple[Any, Any] | None,
) -> tuple[list[Any], tuple[Any, int] | None]:
    """One page of plain rows (with `EXTRAS`) after `cursor_position` (sort value, id); and the next position."""
    kind = dialect(session)
    nulls_low = kind == "sqlite"
    q: Select[Any] = select(*ROW_COLUMNS, ref.expr.label("_sort")).where(*where)
    if cursor_position is not None:
        value, last_id = cursor_position
        if isinstance(last_id, bool) or not isinstance(last_id, int) or not 0 < last_id <= ID_MAX:
            raise Problem(400, "invalid_cursor")
        if value is not None and not _cursor_value_fits(ref, value):
            raise Problem(400, "invalid_cursor")
        if ref.type == "datetime" and isinstance(value, datetime) and kind == "sqlite":
            value = value.replace(tzinfo=None)
        q = q.where(after(ref.expr, Customer.id, value, last_id, desc=desc, nulls_low=nulls_low, nullable=ref.nullable))
    order = [ref.expr.desc(), Customer.id.desc()] if desc else [ref.expr.asc(), Customer.id.asc()]
    rows = await core_rows(session, q.order_by(*order).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    position = None
    if more and rows:
        sort_value = rows[-1]._sort
        if isinstance(sort_value, str) and ref.type == "datetime":
            sort_value = datetime.fromisoformat(sort_value)
        position = (_plain_sort(sort_value), rows[-1].id)
    return [r._mapping for r in rows], position


async def owners_in_name_order(session: AsyncSession, workspace_id: int) -> list[int]:
    """The workspace's users in pinyin order of their names (`search.sort_key`, as the name sort), then by id."""
    users = (await session.execute(select(User.id, User.name).where(User.workspace_id == workspace_id))).all()
    return [u for u, _ in sorted(users, key=lambda r: (search.sort_key(r[1] or ""), r[0]))]


async def page_by_owner(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    owners: list[int | None],
    limit: int,
    cursor_position: tuple[Any, Any] | None,
) -> tuple[list[Any], tuple[Any, int] | None]:
    """One page in the order of `owners` (ids in the order to list them, None for the unowned), each owner's
    customers most recently updated first.

    Users are few per workspace: each owner's rows come from the owner index (owner_id, updated_at, id) with a
    keyset condition, one short query per owner until the page is full. The position is
    ([owner id, updated_at], id) of the page's last row.
    """
    start, last = 0, None
    if cursor_position is not None:
        value, last_id = cursor_position
        if (isinstance(last_id, bool) or not isinstance(last_id, int) or not 0 < last_id <= ID_MAX
                or not isinstance(value, list) or len(value) != 2 or value[0] not in owners
                or not isinstance(value[1], str)):
            raise Problem(400, "invalid_cursor")
        try:
            stamp = datetime.fromisoformat(value[1])
        except ValueError:
            raise Problem(400, "invalid_cursor") from None
        start, last = owners.index(value[0]), (stamp, last_id)
    rows: list[Any] = []
    for owner in owners[start:]:
        # the owner id is written into the statement: a plan (and a prepared statement) per owner, so PostgreSQL
        # weighs each owner's own row count instead of reusing a generic plan that walks another index
        mine = Customer.owner_id.is_(None) if owner is None else Customer.owner_id == bindparam(
            None, owner, type_=Customer.owner_id.type, literal_execute=True)
        q = select(*ROW_COLUMNS).where(*where, mine)
        if last is not None:
            q = q.where(tuple_(Customer.updated_at, Customer.id)
                        < tuple_(literal(last[0], Customer.updated_at.type), literal(last[1], Customer.id.type)))
            last = None
        got = await core_rows(session, q.order_by(Customer.updated_at.desc(), Customer.id.desc())
                              .limit(limit + 1 - len(rows)))
        rows += got
        if len(rows) > limit:
            break
    more = len(rows) > limit
    rows = rows[:limit]
    position = None
    if more and rows:
        r = rows[-1]
        stamp = r.updated_at if isinstance(r.updated_at, datetime) else datetime.fromisoformat(r.updated_at)
        position = ([r.owner_id, stamp.isoformat()], r.id)
    return [r._mapping for r in rows], position


def _cursor_value_fits(ref: FieldRef, value: Any) -> bool:
    """A cursor's sort value must have the sort field's type, or the query would compare apples with pears."""
    if isinstance(value, bool):
        return ref.type == "boolean"
    if ref.type == "datetime":
        return isinstance(value, datetime)
    if ref.type == "date":
        if ref.name.startswith("custom."):
            try:
                return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
            except ValueError:
                return False
        return isinstance(value, date) and not isinstance(value, datetime)
    if ref.type in ("number",):
        return isinstance(value, int | float | Decimal)
    if ref.type in ("user", "team"):
        return isinstance(value, int | float | Decimal) and abs(float(value)) <= ID_MAX
    return isinstance(value, str)


def _plain_sort(v: Any) -> Any:
    return float(v) if isinstance(v, Decimal) else v


# ------------------------------------------------------------------ search


async def search_candidates(session: AsyncSession, p: Principal, q: str) -> list[int]:
    terms = search.query_terms(q)
    if not terms:
        return []
    # names that start with the query, straight from the name index: the best matches are never capped away
    q = q.strip()
    prefix = list(await session.scalars(
        select(Customer.id).where(Customer.workspace_id == p.workspace_id, Customer.deleted_at.is_(None),
                                  Customer.name >= q, Customer.name < q + "\U0010ffff").limit(PREFIX_CAP)
    ))
    seen = set(prefix)
    return prefix + [i for i in await _token_candidates(session, p, terms) if i not in seen]


def _stripped(expr: Any, chars: str) -> Any:
    for ch in chars:
        expr = func.replace(expr, ch, "")
    return expr


@lru_cache(maxsize=64)
def rank_expr(kind: str, digits: bool, phones_ok: bool, emails_ok: bool, wechat_ok: bool) -> Any:
    """search.score as one SQL expression (0 = not a match the caller may see), so candidates are ranked
    inside the database: exact name, name prefix, name part (earlier is better), pinyin spelling, pinyin
    prefix, pinyin part, phone digits, email, anything else the index matched.

    Built once per shape and bound with `rank_params(q)`: constructing it costs more than running it."""
    qf, qlen = bindparam("rank_q", type_=String), bindparam("rank_len", type_=Integer)
    word, word_start = bindparam("rank_word", type_=String), bindparam("rank_word_start", type_=String)
    instr = func.strpos if kind == "postgresql" else func.instr  # (haystack, needle) in both
    name = func.coalesce(Customer.name_fold, "")
    spell = func.coalesce(Customer.name_pinyin, "")
    at = instr(name, qf)
    whens: list[tuple[Any, Any]] = [
        (name == qf, 100),
        (func.substr(name, 1, qlen) == qf, 90),
        (at > 21, 60),
        (at > 0, 81 - at),
        (instr(" " + spell + " ", word) > 0, 70),
        (instr(" " + spell, word_start) > 0, 60),
        (instr(spell, qf) > 0, 50),
    ]
    if digits:  # phones are kept for display ("138 0013 8000"): compare their digits
        phones = _stripped(cast(Customer.phones, String), " -()+")
        whens.append((instr(phones, qf) > 0, search.PHONE if phones_ok else 0))
    emails = _stripped(cast(Customer.emails, String), "@.-_+")
    whens.append((instr(emails, qf) > 0, search.EMAIL if emails_ok else 0))
    other: Any = search.OTHER
    if not wechat_ok:  # a hidden WeChat id must not answer searches one guess at a time
        wechat = _stripped(func.lower(func.coalesce(Customer.wechat, "")), "_-.")
        other = case((instr(wechat, qf) > 0, 0), else_=search.OTHER)
    return case(*whens, else_=other)


def rank_params(q: str) -> dict[str, Any]:
    qf = search.fold_name(q)
    return {"rank_q": qf, "rank_len": len(qf), "rank_word": f" {qf} ", "rank_word_start": f" {qf}"}


# PostgreSQL's search indexes: the trigram index is on the stored column `search_text`, which PostgreSQL computes with
# guanxi_search_text(name_fold, name_pinyin, phones, emails, wechat) on every write (migration 0014; not mapped: SQLite
# has no such column); the gram index is on an expression (migration 0011), called here exactly as it is indexed
SEARCH_TEXT: Any = literal_column("customers.search_text", Text)
SEARCH_GRAMS: Any = func.guanxi_search_grams(Customer.name_fold, Customer.name_pinyin, Customer.emails, Customer.wechat)


def pg_search_conditions(terms: list[str]) -> list[ColumnElement[bool]]:
    """Index conditions for the query terms: a term of 3+ characters is a substring of the search text (pg_trgm),
    one of 2 characters (or one Chinese character) an element of the gram array. A single letter or digit has no
    index of its own: [] when no term has one."""
    grams = [t for t in terms if len(t) == 2 or (len(t) == 1 and search.has_cjk(t))]
    conds: list[ColumnElement[bool]] = [SEARCH_TEXT.like(f"%{t}%") for t in terms if len(t) >= 3]
    if grams:
        conds.append(SEARCH_GRAMS.op("@>")(literal(grams, type_=ARRAY(Text))))
    if conds:  # a single letter beside longer terms is checked on the rows found
        conds += [SEARCH_TEXT.like(f"%{t}%") for t in terms if len(t) == 1 and not search.has_cjk(t)]
    return conds


class Rank(NamedTuple):
    """A search match and where it ranks: by tier, then most recently updated, then id (all descending).
    (A tuple: a search makes up to 350 of them, and a frozen dataclass cost 5 µs each.)"""

    id: int
    tier: int
    updated_at: datetime | None  # only when asked for (a later page compares with it)


def _pg_candidates(q: str, where: list[ColumnElement[bool]], tier: Any) -> tuple[Any, Any, bool] | None:
    """PostgreSQL: the candidates of `q` the caller may see (`where`: scope, filters, live), each with its tier and
    updated_at: names starting with the query from the name index (never capped away), and up to SEARCH_CAP rows
    from the search indexes. Returns (candidates, the capped token matches, whether the index may be sampled), or
    None when the query has no term."""
    terms = search.query_terms(q)
    if not terms:
        return None
    conds = pg_search_conditions(terms)
    if not conds:  # single letters or digits: names whose pinyin starts with the first, containing the others
        first = terms[0][0]
        conds = [Customer.name_sort >= first, Customer.name_sort < first + "\U0010ffff",
                 *(SEARCH_TEXT.like(f"%{t}%") for t in terms[1:])]
    # Each candidate is ranked where it is read (no second visit by primary key), its tier computed once.
    # The token matches are planned without their cap: PostgreSQL cannot estimate how many rows a `LIKE '%xrz%'`
    # matches (it guesses 4 % of the table for a term that 1,060 rows of a million hold), and with the cap inside it
    # chose to walk the workspace in some index order, or the table from the start, filtering every row until 300
    # matched: 0.6-2 s instead of 6 ms on the trigram index. Planned for all its rows, the CTE takes the search
    # indexes; it is still read only as far as the cap (a CTE is filled as its reader asks).
    cols = (Customer.id, Customer.updated_at, tier.label("tier"))
    matches = select(*cols).where(*where, *conds).cte("matches").prefix_with("MATERIALIZED", dialect="postgresql")
    tokens = select(matches).limit(SEARCH_CAP).cte("tokens")
    qs = q.strip()
    # names starting with the query, walked in name order on the name index (names equal to it come first)
    prefix = select(*cols).where(*where, Customer.name >= qs, Customer.name < qs + "\U0010ffff") \
        .order_by(Customer.name, Customer.id).limit(PREFIX_CAP)
    # A frequent term (科技: 100,000 names) would build a bitmap of every match before 300 are read (24 ms). When the
    # query is one index key (one trigram or one gram) the index returns a random sample of about FUZZY_LIMIT entries
    # instead, and only when the sample gives fewer than SEARCH_CAP candidates, so that the count could be short, is
    # the query run in full. (With several keys each is sampled on its own and their intersection is too small.)
    # (A sample differs from one request to the next: search pages follow each other by their last row's rank, not
    # by offset, see customers.service._search.)
    sampled = len(terms) == 1 and len(terms[0]) <= 3 and (len(terms[0]) >= 2 or search.has_cjk(terms[0]))
    return union(select(tokens), prefix).cte("candidates"), tokens, sampled


async def _run_sampled(session: AsyncSession, stmt: Any, params: dict[str, Any], sampled: bool) -> Sequence[Any]:
    """Run a search statement whose rows all carry `found` (the capped token matches), sampling the index when it
    may, and again in full when the sample was short.

    Planned for all rows, a sequential scan can still look cheaper than the search indexes when the guess is high
    (it did on a 30,000-row table in the tests); read lazily it stops at the cap for a frequent term but reads the
    whole table for a rare one. It is never the better plan here: off for this statement."""
    saved = (await session.execute(_PLAN_ON, {"n": str(FUZZY_LIMIT if sampled else 0)})).one()[:2]
    rows = await core_rows(session, stmt, params)
    if sampled and rows[0].found < SEARCH_CAP:
        await session.execute(_FUZZY_OFF)
        rows = await core_rows(session, stmt, params)
    await session.execute(_PLAN_OFF, {"s": saved[0], "n": saved[1]})
    return rows


def _found(tokens: Any) -> Any:
    return select(func.count()).select_from(tokens).scalar_subquery().label("found")


def _best_first(t: Any) -> tuple[Any, ...]:
    """The search order of ranked candidates: tier, then the latest change, then the newest id."""
    return t.c.tier.desc(), t.c.updated_at.desc(), t.c.id.desc()


async def ranked_pg(
    session: AsyncSession, q: str, where: list[ColumnElement[bool]], tier: Any
) -> tuple[list[int], bool]:
    """PostgreSQL: the ids of the visible matches of `q` best first, and whether the candidates were capped; in one
    statement that answers one row."""
    got = _pg_candidates(q, where, tier)
    if got is None:
        return [], False
    both, tokens, sampled = got
    stmt = select(func.array_agg(aggregate_order_by(both.c.id, *_best_first(both))).filter(both.c.tier > 0).label("ids"),
                  _found(tokens))
    (row,) = await _run_sampled(session, stmt, rank_params(q), sampled)
    return list(row.ids or []), row.found >= SEARCH_CAP


async def search_page_pg(
    session: AsyncSession, q: str, where: list[ColumnElement[bool]], tier: Any, *,
    after_rank: tuple[int, datetime, int] | None, limit: int,
) -> tuple[list[tuple[int, Any]], int, bool]:
    """PostgreSQL: one page of a search in one statement: up to `limit` + 1 rows (tier, plain row with `EXTRAS`)
    ranking after `after_rank` (tier, updated_at, id), the number of visible matches and whether the candidates were
    capped. Only the page's rows are read in full, and only their timestamps cross the wire."""
    got = _pg_candidates(q, where, tier)
    if got is None:
        return [], 0, False
    both, tokens, sampled = got
    stats = select(func.count().filter(both.c.tier > 0).label("total"), _found(tokens)).subquery("stats")
    visible = [both.c.tier > 0]
    if after_rank is not None:
        visible.append(tuple_(both.c.tier, both.c.updated_at, both.c.id) < tuple_(
            literal(after_rank[0], Integer), literal(after_rank[1], Customer.updated_at.type),
            literal(after_rank[2], Customer.id.type)))
    ranked = select(both).where(*visible).order_by(*_best_first(both)).limit(limit + 1).subquery("ranked")
    stmt = (select(stats.c.total, stats.c.found, ranked.c.tier.label("_tier"), *ROW_COLUMNS)
            .select_from(stats.outerjoin(ranked, true()).outerjoin(Customer, Customer.id == ranked.c.id))
            .order_by(*_best_first(ranked)))
    rows = await _run_sampled(session, stmt, rank_params(q), sampled)
    first = rows[0]
    page = [(r._tier, r._mapping) for r in rows if r._tier is not None]
    return page, first.total, first.found >= SEARCH_CAP


# the old values are read before the new ones are set (a select list is evaluated in order); they hold until
# _PLAN_OFF or the end of the transaction
_PLAN_ON = text("SELECT current_setting('enable_seqscan'), current_setting('gin_fuzzy_search_limit'), "
                "set_config('enable_seqscan', 'off', true), set_config('gin_fuzzy_search_limit', :n, true)")
_FUZZY_OFF = text("SELECT set_config('gin_fuzzy_search_limit', '0', true)")
_PLAN_OFF = text("SELECT set_config('enable_seqscan', :s, true), set_config('gin_fuzzy_search_limit', :n, true)")


async def _token_candidates(session: AsyncSession, p: Principal, terms: list[str]) -> list[int]:
    """SQLite: FTS5 matches of the workspace's live customers (one FTS table serves every workspace: without the
    join, another workspace's matches could fill the cap)."""
    match = " AND ".join(f'"{t}"*' for t in terms)
    ids = list(await session.scalars(
        text("SELECT f.rowid FROM customer_fts f JOIN customers c ON c.id = f.rowid WHERE customer_fts MATCH :m "
             "AND c.workspace_id = :ws AND c.deleted_at IS NULL LIMIT :n"),
        {"m": match, "ws": p.workspace_id, "n": SEARCH_CAP}))
    return ids


async def index_search(session: AsyncSession, customer: Customer, identities: list[tuple[str, str]]) -> None:
    """The name keys on the row; on SQLite the FTS5 document too. PostgreSQL's search indexes are expressions over
    the row's own columns (name_fold, name_pinyin, phones, emails, wechat; migration 0011): kept by the row."""
    customer.name_pinyin = search.pinyin_key(customer.name)
    customer.name_sort = search.sort_key(customer.name)
    customer.name_fold = search.fold_name(customer.name)
    if dialect(session) == "postgresql":
        return
    phones = [v for k, v in identities if k == "phone"]
    emails = [v for k, v in identities if k == "email"]
    doc = search.document(customer.name, phones, emails, [customer.wechat or ""])
    await session.execute(text("DELETE FROM customer_fts WHERE rowid = :id"), {"id": customer.id})
    await session.execute(text("INSERT INTO customer_fts(rowid, doc) VALUES (:id, :doc)"),
                          {"id": customer.id, "doc": doc})


async def unindex_search(session: AsyncSession, customer_id: int) -> None:
    if dialect(session) != "postgresql":
        await session.execute(text("DELETE FROM customer_fts WHERE rowid = :id"), {"id": customer_id})


# ------------------------------------------------------------------ identities (duplicate checks)


async def replace_identities(session: AsyncSession, customer: Customer, identities: list[tuple[str, str]]) -> None:
    from guanxi.dedupe import repository as dedupe

    old = (await session.execute(select(CustomerIdentity.kind, CustomerIdentity.value)
                                 .where(CustomerIdentity.customer_id == customer.id))).all()
    await session.execute(delete(CustomerIdentity).where(CustomerIdentity.customer_id == customer.id))
    if identities:
        await session.execute(
            insert(CustomerIdentity),
            [{"workspace_id": customer.workspace_id, "customer_id": customer.id, "kind": k, "value": v}
             for k, v in identities],
        )
    # the duplicates page reads groups kept here, in the same transaction as the identities
    await dedupe.refresh(session, customer.workspace_id, "customer", [*((k, v) for k, v in old), *identities])


async def find_by_identities(
    session: AsyncSession, workspace_id: int, identities: list[tuple[str, str]], exclude_id: int | None
) -> list[tuple[Customer, str, str]]:
    if not identities:
        return []
    conds = [and_(CustomerIdentity.kind == k, CustomerIdentity.value == v) for k, v in identities]
    q = (
        select(Customer, CustomerIdentity.kind, CustomerIdentity.value)
        .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
        .where(CustomerIdentity.workspace_id == workspace_id, or_(*conds), Customer.deleted_at.is_(None))
        .order_by(Customer.id)
        .limit(20)
    )
    if exclude_id:
        q = q.where(Customer.id != exclude_id)
    return [(c, k, v) for c, k, v in (await session.execute(q)).all()]


# ------------------------------------------------------------------ contact recency (kept by the activities domain)

IDLE_FIELD = "idle_days"
IDLE_MAX_DAYS = 36_500


def idle_clause(op: str, raw: str, tz: str, now: datetime | None = None) -> ColumnElement[bool]:
    """`idle_days:gte:30`: no contact for at least 30 whole days in the workspace's time, or never contacted.

    Whole days count like `days_since_contact` (calendar days in `tz`), so the filter and the number the list
    shows always agree; the bounds are day starts, which keeps the condition a range on the contacted index.
    """
    col = Customer.last_contacted_at
    if op == "empty":
        return col.is_(None)
    if op == "notempty":
        return col.is_not(None)
    today = local_today(tz, now)

    def days(text_: str) -> int:
        try:
            n = int(text_)
        except ValueError:
            n = -1
        if not 0 <= n <= IDLE_MAX_DAYS:
            raise Problem(400, "invalid_filter", errors=[FieldError(IDLE_FIELD, "invalid_value")])
        return n

    def since(n: int) -> datetime:  # the start of the local day n days ago
        return day_start(today - timedelta(days=n), tz)

    def at_least(n: int) -> ColumnElement[bool]:
        return or_(col.is_(None), col < since(n - 1))

    def at_most(n: int) -> ColumnElement[bool]:
        return col >= since(n)

    if op == "gte":
        return at_least(days(raw))
    if op == "lte":
        return at_most(days(raw))
    if op == "eq":
        n = days(raw)
        return and_(at_most(n), col < since(n - 1))
    if op == "between":
        lo, sep, hi = raw.partition("..")
        if not sep:
            raise Problem(400, "invalid_filter", errors=[FieldError(IDLE_FIELD, "invalid_value")])
        parts = ([at_least(days(lo))] if lo else []) + ([at_most(days(hi))] if hi else [])
        return and_(*parts) if parts else true()
    raise Problem(400, "invalid_filter", errors=[FieldError(IDLE_FIELD, "invalid_option", f"unknown operator {op}")])
