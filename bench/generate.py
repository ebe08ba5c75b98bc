#!/usr/bin/env python
"""Bulk-load a benchmark workspace: N customers with contacts, identities and the search index.

    python bench/generate.py --database-url URL --customers 1000000 [--contacts-per 1.5] [--workspace-slug bench]

The workspace, roles, teams, users, custom fields and channels are created through the application's own
services (so they are exactly what the app would create); the customers, contacts, customer_identities and
the search index are bulk-inserted with the raw driver (sqlite3 executemany / psycopg COPY) for speed.
Search documents are built with the SAME functions the app uses (guanxi.kit.search.document, and
guanxi.kit.normalize.normalize_phone for display format and E.164), so search behaves as in production.

Rows are generated in worker processes (deterministic per chunk: the same N and --seed give the same data);
the main process writes them.  Secondary indexes are dropped during the load and re-created afterwards
from their own definitions (read back from the database), then ANALYZE runs (and, on SQLite, the FTS5
`optimize` command).  The generator records what it loaded in the workspace's settings under "bench".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from guanxi.dedupe.repository import fill_contact_identities_sync, rebuild_groups_sync, rebuild_owners_sync
from guanxi.demo import data as demo
from guanxi.kit import search
from guanxi.kit.normalize import PhoneError, name_identity, normalize_phone
from guanxi.migrate import sync_url

console = Console()

ADMIN_EMAIL = "bench-admin@example.com"
PASSWORD = "bench-pass-123"
WORKSPACE_NAME = "关系基准测试有限公司"
CHUNK = 5000  # customers per worker task
GENERATOR_VERSION = 5  # 4: contact identities and duplicate groups; 5: their per-owner rows; bump when the generated data changes: --if-missing then regenerates

CUSTOMER_COLS = (
    "id",
    "workspace_id",
    "created_by",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "kind",
    "name",
    "industry",
    "size",
    "province",
    "city",
    "district",
    "address",
    "phones",
    "emails",
    "wechat",
    "website",
    "source",
    "stage",
    "grade",
    "tags",
    "owner_id",
    "team_id",
    "birthday",
    "notes",
    "custom",
)
CONTACT_COLS = (
    "workspace_id",
    "customer_id",
    "created_by",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "name",
    "title",
    "phones",
    "emails",
    "wechat",
    "birthday",
    "is_primary",
    "notes",
)
IDENTITY_COLS = ("workspace_id", "customer_id", "kind", "value")
BULK_TABLES = ("customers", "contacts", "customer_identities")


# ---------------------------------------------------------------------------------------------- URLs


@dataclass(frozen=True)
class Target:
    kind: str  # "sqlite" | "postgresql"
    async_url: str  # what the app uses (GUANXI_DATABASE_URL)
    raw: str  # sqlite file path, or a libpq URL for psycopg
    name: str  # database name (PostgreSQL) or file path


def target(url: str) -> Target:
    u = make_url(url)
    if u.drivername.startswith("sqlite"):
        path = str(Path(u.database or "").resolve())
        return Target("sqlite", f"sqlite+aiosqlite:///{path}", path, path)
    a = u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raw = u.set(drivername="postgresql").render_as_string(hide_password=False)
    return Target("postgresql", a, raw, u.database or "")


def pg_admin(t: Target) -> str:
    return make_url(t.raw).set(database="postgres").render_as_string(hide_password=False)


def reset_database(t: Target) -> None:
    """Delete the SQLite file, or drop and re-create the PostgreSQL database."""
    if t.kind == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(t.raw + suffix).unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(pg_admin(t), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{t.name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{t.name}"')


def ensure_database(t: Target) -> None:
    if t.kind == "sqlite":
        Path(t.raw).parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg

    with psycopg.connect(pg_admin(t), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (t.name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{t.name}"')


def existing_bench(t: Target, slug: str) -> dict[str, Any] | None:
    """The "bench" settings of an already generated workspace, {} if it exists without them, None if absent."""
    try:
        if t.kind == "sqlite":
            if not Path(t.raw).exists():
                return None
            with sqlite3.connect(t.raw) as conn:
                row = conn.execute("SELECT settings FROM workspaces WHERE slug = ?", (slug,)).fetchone()
            return None if row is None else json.loads(row[0] or "{}").get("bench", {})
        import psycopg

        with psycopg.connect(t.raw) as conn:
            row = conn.execute("SELECT settings FROM workspaces WHERE slug = %s", (slug,)).fetchone()
        return None if row is None else (row[0] or {}).get("bench", {})
    except Exception:  # noqa: BLE001 - no database / no schema yet
        return None


# ---------------------------------------------------------------------------------------------- setup


async def create_workspace(t: Target, slug: str) -> dict[str, Any]:
    """Workspace, roles, teams, users, custom fields and channels, through the app's services."""
    from sqlalchemy import select

    from guanxi.accounts import service as accounts
    from guanxi.accounts.models import Team, Workspace
    from guanxi.customers.models import CustomFieldDef, SourceChannel
    from guanxi.db import Database

    db = Database(t.async_url)
    try:
        async with db.session() as session:
            if await session.scalar(select(Workspace.id).where(Workspace.slug == slug)) is not None:
                raise SystemExit(f"workspace '{slug}' already exists; use --reset to start over")
            ws = await accounts.create_workspace(session, WORKSPACE_NAME, slug)
            roles = {
                r: (await accounts.role_by_key(session, ws.id, r)).id
                for r in ("admin", "manager", "sales", "service", "marketing", "readonly")
            }
            teams: dict[str, Team] = {}
            for tm in demo.TEAMS:  # parents come first
                parent = teams[tm["parent"]] if tm["parent"] else None
                team = Team(
                    workspace_id=ws.id,
                    name=tm["name"],
                    parent_id=parent.id if parent else None,
                    path=f"{parent.path}{parent.id}/" if parent else "/",
                )
                session.add(team)
                await session.flush()
                teams[tm["key"]] = team
            users: dict[str, Any] = {}
            for u in demo.USERS:
                email = ADMIN_EMAIL if u["role"] == "admin" else f"{u['key']}@{slug}.example.com"
                user = await accounts.create_user(
                    session,
                    ws.id,
                    {
                        "email": email,
                        "name": u["name"],
                        "password": PASSWORD,
                        "role_id": roles[u["role"]],
                        "team_id": teams[u["team"]].id if u.get("team") else None,
                        "language": u.get("language", "zh-CN"),
                        "timezone": u.get("timezone", "Asia/Shanghai"),
                    },
                )
                users[u["key"]] = user
            for tm in demo.TEAMS:
                if tm.get("manager"):
                    teams[tm["key"]].manager_id = users[tm["manager"]].id
            for i, f in enumerate(demo.CUSTOM_FIELDS):
                session.add(
                    CustomFieldDef(
                        workspace_id=ws.id,
                        entity="customer",
                        key=f["key"],
                        label=f["label"],
                        type=f["type"],
                        options=f.get("options", []),
                        required=False,
                        position=i,
                    )
                )
            for ch in demo.CUSTOM_SOURCES:
                session.add(SourceChannel(workspace_id=ws.id, key=ch["key"], label=ch["label"]))
            await session.flush()
            return {
                "workspace_id": ws.id,
                "users": {k: (u.id, u.team_id) for k, u in users.items()},
                "admin_id": users[next(u["key"] for u in demo.USERS if u["role"] == "admin")].id,
            }
    finally:
        await db.dispose()


# ---------------------------------------------------------------------------------------------- pools


# Given-name characters with their usual reading: names are built from one or two of them (or taken from the
# demo's era-typical given names), which keeps 1,000,000 person names mostly unique.
def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """'伟:wei 芳:fang' → (('伟', 'wei'), ('芳', 'fang'))."""
    return tuple((c, p) for c, _, p in (pair.partition(":") for pair in text.split()))


GIVEN_CHARS = _pairs(
    "伟:wei 芳:fang 娜:na 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang 勇:yong 艳:yan 杰:jie 娟:juan "
    "涛:tao 明:ming 超:chao 霞:xia 平:ping 刚:gang 斌:bin 辉:hui 鹏:peng 波:bo 宁:ning 琳:lin 晓:xiao 东:dong "
    "海:hai 燕:yan 峰:feng 建:jian 华:hua 国:guo 志:zhi 文:wen 红:hong 梅:mei 玉:yu 春:chun 秀:xiu 英:ying "
    "兰:lan 德:de 永:yong 思:si 雨:yu 欣:xin 怡:yi 佳:jia 嘉:jia 子:zi 浩:hao 然:ran 宇:yu 轩:xuan 博:bo "
    "涵:han 泽:ze 一:yi 天:tian 梦:meng 婷:ting 雪:xue 慧:hui 颖:ying 倩:qian 蕾:lei 莉:li 萍:ping 健:jian "
    "凯:kai 毅:yi 丹:dan 玲:ling 俊:jun 亮:liang 晨:chen 鑫:xin 帅:shuai 欢:huan 璐:lu 瑶:yao 琪:qi 雅:ya "
    "远:yuan 鸣:ming 豪:hao 飞:fei 帆:fan 诗:shi 家:jia 逸:yi 振:zhen 立:li 新:xin 爱:ai 桂:gui 淑:shu "
    "珍:zhen 成:cheng 龙:long 凤:feng 林:lin 彬:bin 昊:hao 睿:rui 航:hang 晴:qing 琦:qi 婉:wan 芸:yun "
    "蓉:rong 薇:wei 冰:bing 洁:jie 楠:nan 旭:xu 阳:yang 坤:kun 荣:rong 金:jin 胜:sheng 利:li 安:an "
    "福:fu 生:sheng 山:shan 松:song 和:he 晗:han 铭:ming 翔:xiang 晶:jing 岚:lan 妍:yan 媛:yuan"
)
# Characters companies like in their 字号, with pinyin for domains and e-mail addresses.
BRAND_CHARS = _pairs(
    "华:hua 瑞:rui 金:jin 鼎:ding 恒:heng 信:xin 丰:feng 博:bo 远:yuan 德:de 润:run 盛:sheng 天:tian "
    "泽:ze 海:hai 纳:na 众:zhong 联:lian 致:zhi 汇:hui 通:tong 启:qi 明:ming 新:xin 航:hang 同:tong "
    "创:chuang 嘉:jia 禾:he 宏:hong 达:da 鸿:hong 运:yun 合:he 力:li 中:zhong 晟:sheng 诚:cheng 安:an "
    "泰:tai 永:yong 科:ke 百:bai 川:chuan 正:zheng 长:chang 风:feng 青:qing 蓝:lan 融:rong 聚:ju 源:yuan "
    "瀚:han 知:zhi 行:xing 东:dong 方:fang 桥:qiao 美:mei 振:zhen 邦:bang 宝:bao 云:yun 数:shu 锐:rui "
    "思:si 拓:tuo 智:zhi 优:you 乐:le 佳:jia 康:kang 仁:ren 益:yi 顺:shun 捷:jie 迅:xun 畅:chang 广:guang "
    "锦:jin 绣:xiu 光:guang 能:neng 晶:jing 阳:yang 星:xing 辰:chen 腾:teng 飞:fei 弘:hong 毅:yi 坤:kun "
    "元:yuan 峰:feng 图:tu 微:wei 极:ji 卓:zhuo 越:yue 精:jing 道:dao 佰:bai 亿:yi 洲:zhou 森:sen"
)
TLDS = ((".com", 60), (".cn", 20), (".com.cn", 15), (".net", 5))
TAGS = (
    "重点客户",
    "老客户",
    "政府采购",
    "需要回访",
    "上市公司",
    "价格敏感",
    "渠道伙伴",
    "竞品在跟",
    "决策周期长",
    "展会线索",
    "转介绍",
    "多门店",
)


def cum(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


SOURCE_KEYS = [k for k, _ in demo._SOURCE_WEIGHTS]
SOURCE_CUM = cum([w for _, w in demo._SOURCE_WEIGHTS])
STAGE_CUM = {k: cum(list(w)) for k, w in demo._STAGE_WEIGHTS.items()}
TLD_CUM = cum([w for _, w in TLDS])
PRODUCT_KEYS = [k for k, _ in demo._PRODUCTS]


# ---------------------------------------------------------------------------------------------- rows


class ContactPhones:
    """Display format of contact phones (not indexed, so not on the search path) without a libphonenumber
    call per number: the format of a number block (first digits + length) is learnt from normalize_phone once,
    and every 25th number is still checked against normalize_phone (a mismatch turns the shortcut off)."""

    def __init__(self) -> None:
        self.spaces: dict[tuple[str, int], tuple[int, ...] | None] = {}
        self.n = 0

    def __call__(self, raw: str) -> str:
        digits = raw.replace("-", "")
        key = (digits[:5], len(digits))
        spaces = self.spaces.get(key, ())
        self.n += 1
        if spaces == () or spaces is None or self.n % 25 == 0:
            display = normalize_phone(raw)[0]
            learnt = tuple(i for i, ch in enumerate(display) if ch == " ")
            if display.replace(" ", "") != digits:
                self.spaces[key] = None
            elif spaces == ():
                self.spaces[key] = learnt
            elif spaces is not None and learnt != spaces:
                self.spaces[key] = None
            return display
        out = list(digits)
        for i in spaces:
            out.insert(i, " ")
        return "".join(out)


class Gen:
    """One chunk's rows; everything comes from one seeded random.Random."""

    def __init__(self, ctx: dict[str, Any], seed: int) -> None:
        self.rng = random.Random(seed)
        self.ctx = ctx
        self.users: dict[str, tuple[int, int | None]] = ctx["users"]
        self.now: datetime = ctx["now"]
        self.today: date = self.now.date()
        self.pg = ctx["kind"] == "postgresql"
        self.contact_phone = ContactPhones()

    # -- helpers
    def pick(self, values: Any, weights: Any) -> Any:
        return self.rng.choices(values, weights=weights)[0]

    def phone(self, raw: str) -> tuple[str, str] | None:
        try:
            return normalize_phone(raw)
        except PhoneError:
            return None

    def mobile(self) -> tuple[str, str]:
        while True:
            prefix = self.rng.choices(demo._MOBILE_VALUES, cum_weights=demo._MOBILE_CUM)[0]
            got = self.phone(f"{prefix}{self.rng.randrange(10**8):08d}")
            if got:
                return got

    def contact_mobile(self) -> str:
        prefix = self.rng.choices(demo._MOBILE_VALUES, cum_weights=demo._MOBILE_CUM)[0]
        return self.contact_phone(f"{prefix}{self.rng.randrange(10**8):08d}")

    def landline(self, city: Any) -> tuple[str, str]:
        rest = city.local_digits - 1
        while True:
            first = self.rng.choice(city.first_digits)
            if rest >= 7 and self.rng.random() < 0.15:
                tail = f"888{self.rng.randrange(10 ** (rest - 3)):0{rest - 3}d}"
            else:
                tail = f"{self.rng.randrange(10**rest):0{rest}d}"
            got = self.phone(f"{city.area}-{first}{tail}")
            if got:
                return got

    def person(self, city: Any, era: str | None = None) -> tuple[str, str, str, str]:
        """(name, surname pinyin, given-name pinyin, era)."""
        rng = self.rng
        surname, sur_py, _ = rng.choices(demo._SURNAMES, cum_weights=demo._SURNAME_CUM[city.surnames])[0]
        era = era or self.pick(("old", "mid", "young"), (20, 50, 30))
        r = rng.random()
        if r < 0.08:
            given, given_py = rng.choice(demo._GIVEN_NAMES[era])
        elif r < 0.15:
            given, given_py = rng.choice(GIVEN_CHARS)
        else:
            (a, ap), (b, bp) = rng.choice(GIVEN_CHARS), rng.choice(GIVEN_CHARS)
            given, given_py = a + b, ap + bp
        return surname + given, sur_py, given_py, era

    def personal_email(self, sur_py: str, given_py: str) -> str:
        rng = self.rng
        provider = rng.choices(demo._MAIL_PROVIDERS, cum_weights=demo._MAIL_CUM)[0][0]
        if provider == "qq.com" and rng.random() < 0.6:
            return f"{rng.randint(1, 9)}{rng.randrange(10**8):08d}@qq.com"
        style = rng.randrange(4)
        n = rng.randint(1, 9999)
        local = (
            f"{sur_py}{given_py}{n}",
            f"{given_py}_{sur_py}{n}",
            f"{sur_py}.{given_py}{n}",
            f"{sur_py[0]}{given_py}{n}",
        )[style]
        return f"{local}@{provider}"

    def wechat(self, sur_py: str | None, given_py: str | None, hint: str = "") -> str:
        rng = self.rng
        r = rng.random()
        if sur_py is None or r < 0.35:
            if hint and rng.random() < 0.7:
                return f"{hint}{rng.choice(('', '_kf', '01', '_service', '_gw'))}{rng.randint(1, 999)}"
            return "wxid_" + "".join(rng.choice(demo._ALNUM) for _ in range(14))
        if r < 0.6:
            return f"{sur_py}{given_py}{rng.randint(1, 9999)}"
        if r < 0.8:
            return f"{given_py}_{sur_py}{rng.choice(('', '666', '888', '_sh', '2020'))}{rng.randint(1, 99)}"
        return f"{sur_py[0]}{given_py}{rng.randint(1970, 2005)}"

    def day(self, first_year: int, last_year: int) -> date:
        start = date(first_year, 1, 1)
        return min(
            start + timedelta(days=self.rng.randrange((date(last_year, 12, 31) - start).days + 1)), self.today
        )

    def org(self, industry: Any, city: Any, size: str) -> tuple[str, str | None, bool, bool, str | None]:
        """(name, domain base, public, listed, forced district)."""
        rng = self.rng
        if not industry.businesses or rng.random() < industry.public_share * 0.1:
            template = rng.choice(demo._PUBLIC_ORGS[industry.name])
            district = rng.choice(city.districts)[0]
            name = template.format(city=city.city, district=district, n=rng.choice(demo._ORDINALS))
            return name, None, True, False, district if "{district}" in template else None
        r = rng.random()
        if r < 0.1 and industry.brands:
            brand, brand_py = rng.choice(industry.brands)
        elif r < 0.2:
            brand, brand_py = rng.choice(demo._GENERAL_BRANDS)
        else:
            (a, ap), (b, bp) = rng.sample(BRAND_CHARS, 2)
            brand, brand_py = a + b, ap + bp
        business, slug, full = rng.choice(industry.businesses)
        prefix = rng.choice(city.prefixes)
        r = rng.random()
        if size == "1000+" and r < 0.3 and not full:
            return f"{city.province_short}{brand}集团有限公司", f"{brand_py}group", False, False, None
        if size in ("1000+", "501-1000") and r < (0.6 if size == "1000+" else 0.2) and not full:
            return f"{prefix}{brand}{business}股份有限公司", brand_py + slug, False, True, None
        if full:
            return f"{prefix}{brand}{business}", brand_py + slug, False, False, None
        if r > 0.92:
            return f"{brand}{business}（{city.short}）有限公司", brand_py + slug, False, False, None
        if city.abbr == "sz" and r > 0.85:
            return f"{prefix}前海{brand}{business}有限公司", brand_py + slug, False, False, "南山区"
        return f"{prefix}{brand}{business}有限公司", brand_py + slug, False, False, None

    def office_address(self, street: str) -> str:
        rng = self.rng
        no = max(1, int(rng.triangular(1, 1800, 60)))
        r = rng.random()
        if r < 0.3:
            return f"{street}{no}号"
        if r < 0.65:
            floor = rng.randint(2, 38)
            return (
                f"{street}{no}号{rng.choice(demo._TOWERS)}{rng.choice(demo._TOWER_KINDS)}"
                f"{floor}层{floor}{rng.randint(1, 20):02d}室"
            )
        if r < 0.85:
            return f"{street}{no}号{rng.randint(1, 12)}号楼{rng.randint(1, 9)}楼"
        return f"{street}{no}号{rng.choice('ABCDE')}座{rng.randint(1, 6)}0{rng.randint(1, 9)}室"

    def home_address(self, city: Any, street: str) -> str:
        rng = self.rng
        no = max(1, int(rng.triangular(1, 1800, 60)))
        if city.lanes and rng.random() < 0.7:
            return f"{street}{no}弄{rng.randint(1, 40)}号{rng.randint(1, 6)}0{rng.randint(1, 4)}室"
        return f"{street}{no}号{rng.randint(1, 20)}栋{rng.randint(1, 4)}单元{rng.randint(2, 28)}0{rng.randint(1, 4)}室"

    def grade(self, size: str | None, stage: str) -> str | None:
        if stage == "lost":
            return self.pick(("B", "C", "D", ""), (5, 25, 45, 25)) or None
        s = (demo._SIZES.index(size) if size else 0) + {
            "potential": 0,
            "first_purchase": 1,
            "repeat": 2,
            "loyal": 3,
            "at_risk": 1,
        }[stage]
        return (
            self.pick(("A", "B", "C", "D", ""), (max(0, s - 1) * 8, 8 + 4 * s, 28, max(2, 24 - 4 * s), 12))
            or None
        )

    def owner(self, city: Any, big: bool) -> str:
        key = "south" if city.region == "south" else ("east_big" if big else "east")
        pairs = demo._OWNERS[key]
        return self.pick([k for k, _ in pairs], [w for _, w in pairs])

    def custom(
        self, kind: str, size: str | None, stage: str, product_weights: tuple[int, ...], owner: str
    ) -> dict[str, Any]:
        rng = self.rng
        out: dict[str, Any] = {}
        if rng.random() < 0.82:
            low, high = demo._BUDGET[size or ""]
            out["budget"] = f"{rng.randrange(low, high + 1, 5 if high >= 200 else 1) * 1000}.00"
        if rng.random() < 0.88:
            out["intent"] = self.pick(("high", "medium", "low"), demo._INTENT[stage])
        if rng.random() < 0.88:
            count = 1 if kind == "person" else int(self.pick(("1", "2", "3"), (45, 40, 15)))
            pool, chosen = list(product_weights), set()
            for _ in range(count):
                idx = rng.choices(range(len(PRODUCT_KEYS)), weights=pool)[0]
                chosen.add(PRODUCT_KEYS[idx])
                pool[idx] = 0
                if not any(pool):
                    break
            out["products"] = [v for v in PRODUCT_KEYS if v in chosen]
        if kind == "company" and rng.random() < 0.8:
            out["annual_contract"] = rng.random() < {"loyal": 0.75, "repeat": 0.4, "at_risk": 0.3}.get(
                stage, 0.03
            )
        if stage != "lost" and rng.random() < 0.6:
            offset = rng.randint(-10, 10) if stage == "at_risk" else rng.randint(-5, 45)
            out["next_visit"] = (self.today + timedelta(days=offset)).isoformat()
        if stage not in ("potential", "lost") and rng.random() < 0.75:
            manager = "lina" if owner in ("zhangwei", "liuyang", "zhoumin", "lina") else "huangzhiming"
            out["account_manager"] = self.users[self.pick(("zhaotingting", "hejing", manager), (45, 45, 10))][
                0
            ]
        return out

    def tags(
        self, kind: str, stage: str, grade: str | None, source: str, listed: bool, public: bool
    ) -> list[str]:
        rng = self.rng
        chances = {
            "重点客户": 0.75 if grade == "A" else 0.0,
            "老客户": 0.5 if stage in ("repeat", "loyal") else 0.0,
            "政府采购": 0.9 if public else 0.0,
            "需要回访": 0.6 if stage == "at_risk" else 0.05,
            "上市公司": 0.7 if listed else 0.0,
            "价格敏感": 0.22 if kind == "person" else 0.08,
            "竞品在跟": 0.12 if stage in ("potential", "at_risk") else 0.0,
            "决策周期长": 0.3 if public else 0.05,
            "展会线索": 0.4 if source == "exhibition" else 0.0,
            "转介绍": 0.25 if source == "referral" else 0.0,
            "多门店": 0.05 if kind == "company" else 0.0,
            "渠道伙伴": 0.03 if kind == "company" else 0.0,
        }
        return [t for t in TAGS if chances[t] and rng.random() < chances[t]][:3]

    def note(
        self,
        kind: str,
        stage: str,
        source: str,
        products: list[str],
        hon: str,
        size: str | None,
        years: int,
        city: Any,
    ) -> str | None:
        rng = self.rng
        if rng.random() < 0.3:
            return None
        product = products[0] if products else rng.choice(PRODUCT_KEYS)
        noun, unit, done = demo._PRODUCT_NOTE[product]
        low, high = demo._QTY[size or ""]
        text = rng.choice((demo._NOTES_PERSON if kind == "person" else demo._NOTES_COMPANY)[stage]).format(
            src=demo._SOURCE_PHRASES[source],
            product=noun,
            unit=unit,
            done=done,
            qty=rng.randint(low, high),
            hon=hon,
            deadline=rng.choice(demo._DEADLINES),
            years=years,
            other_city=rng.choice(demo._CITIES).short if city else "外地",
        )
        if kind == "company" and stage != "lost" and rng.random() < 0.35:
            text += rng.choice(demo._NOTE_EXTRAS)
        return text

    def times(self, stage: str) -> tuple[datetime, datetime]:
        low, high, mode = demo._CREATED[stage]
        days = max(0.0, min(729.9, self.rng.triangular(low, high, mode) + self.rng.random()))
        created = self.now - timedelta(days=days, microseconds=self.rng.randrange(1_000_000))
        span = (self.now - created).total_seconds()
        updated = created + timedelta(seconds=span * (1 - self.rng.random() ** 2))
        return created, min(updated, self.now)

    # -- one customer
    def customer(self, cid: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[tuple[str, str]], str]:
        rng = self.rng
        city = rng.choices(demo._CITIES, cum_weights=demo._CITY_CUM)[0]
        kind = "company" if rng.random() < 0.75 else "person"
        contacts: list[dict[str, Any]] = []
        if kind == "company":
            industry = rng.choices(demo._INDUSTRIES, cum_weights=demo._INDUSTRY_CUM)[0]
            while not industry.businesses and rng.random() < 0.8:  # fewer 政府/公共事业: their names repeat
                industry = rng.choices(demo._INDUSTRIES, cum_weights=demo._INDUSTRY_CUM)[0]
            size = self.pick(demo._SIZES, industry.sizes)
            name, domain_base, public, listed, forced = self.org(industry, city, size)
            district, streets = rng.choice(city.districts)
            if forced and forced in dict(city.districts):
                district, streets = forced, dict(city.districts)[forced]
            address = self.office_address(rng.choice(streets))
            domain = None
            if domain_base:
                tld = rng.choices(TLDS, cum_weights=TLD_CUM)[0][0]
                domain = (f"{city.abbr}{domain_base}" if rng.random() < 0.3 else domain_base) + tld
            r = rng.random()
            mobile_only = 0.4 if size == "1-20" else 0.1
            if public:
                phones = [self.landline(city)] + ([self.landline(city)] if r < 0.3 else [])
            elif r < mobile_only:
                phones = [self.mobile()]
            elif r < mobile_only + 0.25:
                phones = [self.landline(city), self.mobile()]
            else:
                phones = [self.landline(city)]
            emails: list[str] = []
            if domain:
                emails = [
                    f"{box}@{domain}"
                    for box in rng.sample(demo._COMPANY_MAILBOXES, int(self.pick((0, 1, 2), (25, 58, 17))))
                ]
            website = f"https://www.{domain}" if domain and rng.random() < 0.6 else None
            wechat = (
                self.wechat(None, None, domain_base or "") if domain_base and rng.random() < 0.45 else None
            )
            stage = self.pick(demo._STAGES, demo._STAGE_WEIGHTS["company"])
            grade = self.grade(size, stage)
            industry_name: str | None = industry.name
            product_weights = industry.products
            birthday = None if public or rng.random() < 0.2 else self.day(1988, 2022)
            # contacts: binomial(6, p) gives the requested mean per customer overall
            n_contacts = sum(1 for _ in range(6) if rng.random() < self.ctx["contact_p"])
            used: set[str] = set()
            for i in range(n_contacts):
                title = rng.choice(industry.decision_titles) if i == 0 else rng.choice(industry.other_titles)
                cname, sp, gp, _era = self.person(city)
                if cname in used:
                    continue
                used.add(cname)
                r = rng.random()
                cphones = (
                    [self.contact_mobile()]
                    if r < 0.9
                    else [self.contact_mobile(), self.contact_mobile()]
                    if r < 0.95
                    else []
                )
                cemails = []
                r = rng.random()
                if domain and r < 0.6:
                    cemails.append(f"{sp}{gp}@{domain}")
                elif r < 0.8:
                    cemails.append(self.personal_email(sp, gp))
                contacts.append(
                    {
                        "name": cname,
                        "title": title,
                        "phones": cphones,
                        "emails": cemails,
                        "wechat": self.wechat(sp, gp) if rng.random() < 0.5 else None,
                        "birthday": self.day(1960, 2000) if rng.random() < 0.3 else None,
                        "is_primary": i == 0,
                        "notes": rng.choice(demo._CONTACT_NOTES) if rng.random() < 0.2 else None,
                    }
                )
            hon = demo._honorific(contacts[0]["name"], contacts[0]["title"]) if contacts else "对方负责人"
        else:
            name, sp, gp, era = self.person(city)
            size, industry_name, public, listed, website = None, None, False, False, None
            district, streets = rng.choice(city.districts)
            address = self.home_address(city, rng.choice(streets)) if rng.random() < 0.8 else None
            phones = [self.mobile()] + ([self.mobile()] if rng.random() < 0.15 else [])
            emails = [self.personal_email(sp, gp) for _ in range(int(self.pick((0, 1, 2), (30, 60, 10))))]
            wechat = self.wechat(sp, gp) if rng.random() < 0.85 else None
            stage = self.pick(demo._STAGES, demo._STAGE_WEIGHTS["person"])
            grade = self.grade(None, stage)
            product_weights = (1, 2, 4, 6, 1)
            birthday = self.day(*demo._ERA_YEARS[era]) if rng.random() < 0.7 else None
            hon = ""
        source = rng.choices(SOURCE_KEYS, cum_weights=SOURCE_CUM)[0]
        owner = self.owner(city, size in ("501-1000", "1000+") or grade == "A")
        owner_id, team_id = self.users[owner]
        custom = self.custom(kind, size, stage, product_weights, owner)
        created, updated = self.times(stage)
        deleted = updated + (self.now - updated) * rng.random() if rng.random() < 0.005 else None
        products = custom.get("products") or []
        notes = self.note(
            kind, stage, source, products, hon, size, max(2, (self.now - created).days // 365 + 2), city
        )
        # what the app stores: display phones, unique (kind, normalised) identities in input order
        shown, identities = [], []
        for display, e164 in phones:
            if ("phone", e164) not in identities:
                identities.append(("phone", e164))
                shown.append(display)
        emails = list(dict.fromkeys(e.lower() for e in emails))
        identities += [("email", e) for e in emails]
        named = name_identity(name, city.city)
        if named:
            identities.append(named)
        doc = search.document(name, [v for k, v in identities if k == "phone"], emails, [wechat or ""])
        row = {
            "name_pinyin": search.pinyin_key(name) if self.ctx["name_pinyin"] else None,
            "name_sort": search.sort_key(name) if self.ctx["name_sort"] else None,
            "name_fold": search.fold_name(name) if self.ctx["name_fold"] else None,
            "id": cid,
            "workspace_id": self.ctx["workspace_id"],
            "created_by": owner_id,
            "created_at": created,
            "updated_at": updated,
            "version": 1,
            "deleted_at": deleted,
            "kind": kind,
            "name": name,
            "industry": industry_name,
            "size": size,
            "province": city.province,
            "city": city.city,
            "district": district,
            "address": address,
            "phones": shown,
            "emails": emails,
            "wechat": wechat,
            "website": website,
            "source": source,
            "stage": stage,
            "grade": grade,
            "tags": self.tags(kind, stage, grade, source, listed, public),
            "owner_id": owner_id,
            "team_id": team_id,
            "birthday": birthday,
            "notes": notes,
            "custom": custom,
        }
        for c in contacts:
            c["created_at"] = c["updated_at"] = created
        return row, contacts, identities, doc


# ---------------------------------------------------------------------------------------------- encoders

JSON_COLS = {"phones", "emails", "tags", "custom"}


def sqlite_dt(v: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME storage format, naive UTC (what UTCDateTime binds)
    return None if v is None else f"{v:%Y-%m-%d %H:%M:%S}.{v.microsecond:06d}"


def sqlite_value(col: str, v: Any) -> Any:
    if col in JSON_COLS:
        return json.dumps(v)  # SQLAlchemy's JSON type: json.dumps defaults
    if isinstance(v, datetime):
        return sqlite_dt(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return int(v)
    return v


_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(col: str, v: Any) -> str:
    if v is None:
        return "\\N"
    if col in JSON_COLS:
        v = json.dumps(v, ensure_ascii=False)
    elif isinstance(v, datetime):
        v = v.isoformat(sep=" ")
    elif isinstance(v, date):
        v = v.isoformat()
    elif isinstance(v, bool):
        return "t" if v else "f"
    return str(v).translate(_COPY_ESCAPE)


def copy_line(cols: tuple[str, ...], row: dict[str, Any], extra: tuple[str, ...] = ()) -> str:
    return (
        "\t".join([copy_value(c, row[c]) for c in cols] + [x.translate(_COPY_ESCAPE) for x in extra]) + "\n"
    )


# ---------------------------------------------------------------------------------------------- workers

_CTX: dict[str, Any] = {}


def _init_worker(ctx: dict[str, Any]) -> None:
    _CTX.update(ctx)


def make_chunk(spec: tuple[int, int, int]) -> dict[str, Any]:
    """Rows for customers [start_id, start_id + count), ready for the target's writer."""
    index, start_id, count = spec
    ctx = _CTX
    gen = Gen(ctx, ctx["seed"] * 1_000_003 + index)
    pg = ctx["kind"] == "postgresql"
    ws = ctx["workspace_id"]
    ccols = ctx["customer_cols"]
    customers: list[Any] = []
    contacts: list[Any] = []
    identities: list[Any] = []
    docs: list[Any] = []
    for cid in range(start_id, start_id + count):
        row, cts, idents, doc = gen.customer(cid)
        if pg:
            customers.append(copy_line(ccols, row, (doc,)))
        else:
            customers.append(tuple(sqlite_value(c, row[c]) for c in ccols))
            docs.append((cid, doc))
        for ct in cts:
            ct.update(
                workspace_id=ws, customer_id=cid, created_by=row["owner_id"], version=1, deleted_at=None
            )
            contacts.append(
                copy_line(CONTACT_COLS, ct) if pg else tuple(sqlite_value(c, ct[c]) for c in CONTACT_COLS)
            )
        for k, v in idents:
            identities.append(f"{ws}\t{cid}\t{k}\t{v.translate(_COPY_ESCAPE)}\n" if pg else (ws, cid, k, v))
    if pg:
        return {
            "count": count,
            "customers": "".join(customers).encode(),
            "contacts": "".join(contacts).encode(),
            "identities": "".join(identities).encode(),
            "n_contacts": len(contacts),
            "n_identities": len(identities),
        }
    return {
        "count": count,
        "customers": customers,
        "contacts": contacts,
        "identities": identities,
        "docs": docs,
        "n_contacts": len(contacts),
        "n_identities": len(identities),
    }


# ---------------------------------------------------------------------------------------------- writers


class SqliteWriter:
    def __init__(self, t: Target, customer_cols: tuple[str, ...]) -> None:
        self.cols = customer_cols
        self.conn = sqlite3.connect(t.raw, isolation_level=None)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=OFF",
            "cache_size=-1000000",
            "temp_store=MEMORY",
            "foreign_keys=OFF",
        ):
            self.conn.execute(f"PRAGMA {pragma}")
        self.indexes: list[tuple[str, str]] = []
        self.pending = 0

    def next_id(self) -> int:
        return (self.conn.execute("SELECT coalesce(max(id), 0) FROM customers").fetchone()[0] or 0) + 1

    def drop_indexes(self) -> None:
        marks = ",".join("?" * len(BULK_TABLES))
        self.indexes = self.conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            BULK_TABLES,
        ).fetchall()
        for name, _ in self.indexes:
            self.conn.execute(f'DROP INDEX "{name}"')
        self.conn.execute("BEGIN")

    def write(self, chunk: dict[str, Any]) -> None:
        c = self.conn
        c.executemany(
            f"INSERT INTO customers ({','.join(self.cols)}) VALUES ({','.join('?' * len(self.cols))})",
            chunk["customers"],
        )
        c.executemany(
            f"INSERT INTO contacts ({','.join(CONTACT_COLS)}) VALUES ({','.join('?' * len(CONTACT_COLS))})",
            chunk["contacts"],
        )
        c.executemany(
            "INSERT INTO customer_identities (workspace_id, customer_id, kind, value) VALUES (?,?,?,?)",
            chunk["identities"],
        )
        c.executemany("INSERT INTO customer_fts(rowid, doc) VALUES (?, ?)", chunk["docs"])
        self.pending += chunk["count"]
        if self.pending >= 100_000:  # big transactions
            c.execute("COMMIT")
            c.execute("BEGIN")
            self.pending = 0

    def finish(self, step: Any) -> None:
        c = self.conn
        c.execute("COMMIT")
        for name, sql in self.indexes:
            step(f"index {name}")
            c.execute(sql)
        step("FTS optimize")
        c.execute("INSERT INTO customer_fts(customer_fts) VALUES('optimize')")
        step("ANALYZE")
        c.execute("ANALYZE")
        step("checkpoint")
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def save_meta(self, slug: str, meta: dict[str, Any]) -> None:
        settings = json.loads(
            self.conn.execute("SELECT settings FROM workspaces WHERE slug = ?", (slug,)).fetchone()[0]
        )
        settings["bench"] = meta
        self.conn.execute("UPDATE workspaces SET settings = ? WHERE slug = ?", (json.dumps(settings), slug))

    def close(self) -> None:
        self.conn.close()


class PostgresWriter:
    def __init__(self, t: Target, customer_cols: tuple[str, ...]) -> None:
        import psycopg

        self.cols = customer_cols
        self.conn = psycopg.connect(t.raw, autocommit=True)
        c = self.conn
        c.execute("SET synchronous_commit = off")
        c.execute("SET maintenance_work_mem = '1GB'")
        c.execute("SET max_parallel_maintenance_workers = 2")
        # skip the FK triggers during the load (every reference is valid by construction); needs a superuser
        with contextlib.suppress(psycopg.Error):
            c.execute("SET session_replication_role = replica")
        self.indexes: list[tuple[str, str]] = []
        self.pending = 0
        cols = ", ".join(self.cols)
        c.execute(f"CREATE TEMP TABLE bench_stage AS SELECT {cols} FROM customers WITH NO DATA")
        # PostgreSQL's search indexes are expressions over the row (migration 0011); before it, a tsvector column
        self.tsvector = c.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'customers' AND column_name = 'search'"
        ).fetchone() is not None
        c.execute("ALTER TABLE bench_stage ADD COLUMN doc text")

    def next_id(self) -> int:
        return int(self.conn.execute("SELECT coalesce(max(id), 0) FROM customers").fetchone()[0]) + 1

    def drop_indexes(self) -> None:
        self.indexes = self.conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(BULK_TABLES),),
        ).fetchall()
        for name, _ in self.indexes:
            self.conn.execute(f'DROP INDEX "{name}"')
        self.conn.execute("BEGIN")

    def write(self, chunk: dict[str, Any]) -> None:
        c = self.conn
        cols = ", ".join(self.cols)
        with c.cursor() as cur:
            with cur.copy(f"COPY bench_stage ({cols}, doc) FROM STDIN") as cp:
                cp.write(chunk["customers"])
            # the same tsvector the app writes: to_tsvector('simple', doc)
            if self.tsvector:  # before migration 0011
                cur.execute(
                    f"INSERT INTO customers ({cols}, search) SELECT {cols}, to_tsvector('simple', doc) FROM bench_stage"
                )
            else:
                cur.execute(f"INSERT INTO customers ({cols}) SELECT {cols} FROM bench_stage")
            cur.execute("TRUNCATE bench_stage")
            with cur.copy(f"COPY contacts ({', '.join(CONTACT_COLS)}) FROM STDIN") as cp:
                cp.write(chunk["contacts"])
            with cur.copy(
                "COPY customer_identities (workspace_id, customer_id, kind, value) FROM STDIN"
            ) as cp:
                cp.write(chunk["identities"])
        self.pending += chunk["count"]
        if self.pending >= 100_000:
            c.execute("COMMIT")
            c.execute("BEGIN")
            self.pending = 0

    def finish(self, step: Any) -> None:
        c = self.conn
        c.execute("COMMIT")
        c.execute("SET session_replication_role = DEFAULT")
        for table in BULK_TABLES:
            c.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        for name, sql in self.indexes:
            step(f"index {name}")
            c.execute(sql)
        for table in BULK_TABLES:
            step(f"VACUUM ANALYZE {table}")
            c.execute(f"VACUUM (ANALYZE) {table}")
        c.execute("ANALYZE")

    def save_meta(self, slug: str, meta: dict[str, Any]) -> None:
        from psycopg.types.json import Jsonb

        self.conn.execute(
            "UPDATE workspaces SET settings = settings || %s WHERE slug = %s", (Jsonb({"bench": meta}), slug)
        )

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------------------------------------- main


def table_columns(t: Target, table: str) -> list[tuple[str, bool, bool]]:
    """(name, nullable, has default) of a table's columns."""
    if t.kind == "sqlite":
        with sqlite3.connect(t.raw) as conn:
            return [
                (r[1], not r[3], r[4] is not None or bool(r[5]))
                for r in conn.execute(f"PRAGMA table_info({table})")
            ]
    import psycopg

    with psycopg.connect(t.raw) as conn:
        return [
            (r[0], r[1] == "YES", r[2] is not None)
            for r in conn.execute(
                "SELECT column_name, is_nullable, column_default FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
                (table,),
            )
        ]


FILLED_BY_GENERATOR = {"name_pinyin", "name_sort", "name_fold"}  # optional columns the generator fills the way the app does
NOT_LOADED = {"search"}  # PostgreSQL's tsvector: computed from the document during the load


def check_columns(t: Target, quiet: bool = False) -> tuple[tuple[str, ...], set[str]]:
    """The customers columns to load; stops on a NOT NULL column this generator does not know."""
    cols = table_columns(t, "customers")
    names = {c for c, _, _ in cols}
    load = tuple(c for c in CUSTOMER_COLS if c in names) + tuple(
        c for c in sorted(FILLED_BY_GENERATOR) if c in names
    )
    unknown = [
        (c, nullable, default) for c, nullable, default in cols if c not in load and c not in NOT_LOADED
    ]
    for c, nullable, default in unknown:
        if not nullable and not default:
            raise SystemExit(
                f"customers.{c} is NOT NULL without a default and bench/generate.py does not fill it"
            )
        if not quiet:
            console.print(f"[yellow]note: customers.{c} is not generated (left NULL / default)[/yellow]")
    for table, known in (("contacts", CONTACT_COLS), ("customer_identities", IDENTITY_COLS)):
        for c, nullable, default in table_columns(t, table):
            if c not in known and c != "id" and not nullable and not default:
                raise SystemExit(
                    f"{table}.{c} is NOT NULL without a default and bench/generate.py does not fill it"
                )
    return load, FILLED_BY_GENERATOR & set(load)


def db_size(t: Target) -> int:
    if t.kind == "sqlite":
        return sum(Path(t.raw + s).stat().st_size for s in ("", "-wal") if Path(t.raw + s).exists())
    import psycopg

    with psycopg.connect(t.raw) as conn:
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])


def specs(n: int, start_id: int) -> Iterator[tuple[int, int, int]]:
    for index, offset in enumerate(range(0, n, CHUNK)):
        yield index, start_id + offset, min(CHUNK, n - offset)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", required=True, help="sqlite:///path.db or postgresql://user@host/db")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument(
        "--contacts-per", type=float, default=1.5, help="mean contacts per customer (companies only)"
    )
    ap.add_argument("--workspace-slug", default="bench")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1))
    ap.add_argument("--reset", action="store_true", help="delete / drop and re-create the database first")
    ap.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing when the workspace already holds this many generated customers; "
        "otherwise reset the database and generate",
    )
    args = ap.parse_args()
    t = target(args.database_url)
    n = args.customers

    if args.if_missing:
        meta = existing_bench(t, args.workspace_slug)
        if meta and meta.get("complete"):
            # later migrations only add nullable columns and new tables: bring the data along instead of
            # regenerating; a change that matters shows up in the column check below
            from guanxi.migrate import upgrade

            upgrade(t.async_url)
        # derived columns a migration backfills (like name_sort) do not make the data stale
        same_schema = bool(meta) and [c for c in meta.get("customer_cols", []) if c not in FILLED_BY_GENERATOR] == [
            c for c in check_columns(t, quiet=True)[0] if c not in FILLED_BY_GENERATOR]
        if (
            meta
            and meta.get("customers") == n
            and meta.get("complete")
            and same_schema
            and meta.get("generator_version") == GENERATOR_VERSION
        ):
            console.print(
                f"[green]{t.kind}: workspace '{args.workspace_slug}' already has {n:,} generated customers; "
                f"nothing to do.[/green]"
            )
            return 0
        if meta is not None:
            console.print(
                f"{t.kind}: existing workspace has {meta.get('customers')} customers "
                f"(complete={meta.get('complete')}, generator v{meta.get('generator_version')}, "
                f"same schema: {same_schema}); regenerating."
            )
            args.reset = True
    if args.reset:
        reset_database(t)
    ensure_database(t)

    from guanxi.migrate import upgrade

    started = time.perf_counter()
    upgrade(t.async_url)
    setup = asyncio.run(create_workspace(t, args.workspace_slug))
    company_share = 0.75
    customer_cols, derived = check_columns(t)
    ctx = {
        "customer_cols": customer_cols,
        "name_pinyin": "name_pinyin" in derived,
        "name_sort": "name_sort" in derived,
        "name_fold": "name_fold" in derived,
        "kind": t.kind,
        "seed": args.seed,
        "workspace_id": setup["workspace_id"],
        "users": setup["users"],
        "now": datetime.now(UTC).replace(microsecond=0),
        "contact_p": min(1.0, args.contacts_per / company_share / 6),
    }
    writer: SqliteWriter | PostgresWriter = (
        SqliteWriter(t, customer_cols) if t.kind == "sqlite" else PostgresWriter(t, customer_cols)
    )
    start_id = writer.next_id()
    writer.drop_indexes()
    console.print(
        f"{t.kind}: generating {n:,} customers (~{args.contacts_per} contacts each) in "
        f"{args.workers} worker process(es) → {t.name}"
    )

    totals = {"customers": 0, "contacts": 0, "identities": 0}
    load_started = time.perf_counter()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("customers", total=n, rate="")
        ctx_mp = mp.get_context("fork")
        with ctx_mp.Pool(args.workers, initializer=_init_worker, initargs=(ctx,)) as pool:
            for chunk in pool.imap(make_chunk, specs(n, start_id)):
                writer.write(chunk)
                totals["customers"] += chunk["count"]
                totals["contacts"] += chunk["n_contacts"]
                totals["identities"] += chunk["n_identities"]
                elapsed = time.perf_counter() - load_started
                rows = sum(totals.values())
                rate = f"{totals['customers'] / elapsed:,.0f} customers/s · {rows / elapsed:,.0f} rows/s"
                progress.update(task, advance=chunk["count"], rate=rate)
                if (
                    not console.is_terminal
                    and totals["customers"] * 20 // n != (totals["customers"] - chunk["count"]) * 20 // n
                ):
                    print(f"  {totals['customers']:,}/{n:,} customers, {elapsed:,.0f} s, {rate}", flush=True)
        load_seconds = time.perf_counter() - load_started
        post_started = time.perf_counter()
        post = progress.add_task("indexes, ANALYZE", total=None, rate="")

        def step(what: str) -> None:
            progress.update(post, description=what)
            if not console.is_terminal:
                print(f"  {what} ({time.perf_counter() - post_started:,.0f} s)", flush=True)

        writer.finish(step)
        # the bulk load bypassed the app: contact identities and duplicate groups in one pass each, as migration
        # 0007 builds them
        step("contact identities, duplicate groups")
        dedupe_engine = create_engine(sync_url(t.async_url))
        with dedupe_engine.begin() as conn:
            fill_contact_identities_sync(conn)
            rebuild_groups_sync(conn)
            rebuild_owners_sync(conn)
            conn.execute(text("ANALYZE contact_identities"))
            conn.execute(text("ANALYZE duplicate_groups"))
            conn.execute(text("ANALYZE duplicate_group_owners"))
        dedupe_engine.dispose()
        post_seconds = time.perf_counter() - post_started
        progress.update(post, description="indexes, ANALYZE: done", total=1, completed=1)

    total_seconds = time.perf_counter() - started
    rows = sum(totals.values())
    size = db_size(t)
    meta = {
        "customers": n,
        "contacts": totals["contacts"],
        "identities": totals["identities"],
        "complete": True,
        "seed": args.seed,
        "contacts_per": args.contacts_per,
        "generated_at": ctx["now"].isoformat(),
        "load_seconds": round(load_seconds, 1),
        "index_seconds": round(post_seconds, 1),
        "total_seconds": round(total_seconds, 1),
        "rows_per_second": round(rows / load_seconds),
        "customers_per_second": round(n / load_seconds),
        "db_bytes": size,
        "first_id": start_id,
        "generator_version": GENERATOR_VERSION,
        "customer_cols": list(customer_cols),
        "workers": args.workers,
    }
    writer.save_meta(args.workspace_slug, meta)
    writer.close()
    console.print(
        f"[green]{t.kind}: {n:,} customers, {totals['contacts']:,} contacts, {totals['identities']:,} identities "
        f"(+{n:,} search documents)[/green]\n"
        f"  load {load_seconds:,.1f} s ({n / load_seconds:,.0f} customers/s, {rows / load_seconds:,.0f} rows/s), "
        f"indexes + ANALYZE {post_seconds:,.1f} s, total {total_seconds:,.1f} s; database size {size / 2**20:,.0f} MB"
    )
    Path(__file__).parent.joinpath("var").mkdir(exist_ok=True)
    Path(__file__).parent.joinpath("var", f"generate-{t.kind}.json").write_text(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
