"""Migrations on both databases: 0002 grants the new modules to existing built-in roles, fills events'
customer ids, matches the models, and goes down and up again."""

from __future__ import annotations

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from guanxi.authz.core import BUILTIN_ROLES
from guanxi.migrate import alembic_config, sync_url, upgrade
from guanxi.models import Base

NEW_TABLES = {"interactions", "interaction_channels", "attachments", "tasks", "notes", "notifications"}


def downgrade(url: str, revision: str) -> None:
    engine = create_engine(sync_url(url))
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    engine.dispose()


def _perms(raw: object) -> dict[str, list[str]]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)  # type: ignore[call-overload]


def test_0002_on_a_database_with_data(empty_database_url: str) -> None:
    empty_url = empty_database_url
    upgrade(empty_url, "0001")
    engine = create_engine(sync_url(empty_url))
    old = {"admin": {"customers": ["view"], "users": ["view"]}, "sales": {"customers": ["view", "create"]},
           "marketing": {"customers": ["view", "export"]}}
    with engine.begin() as conn:
        ws = conn.execute(text("INSERT INTO workspaces (name, slug, settings, created_at) "
                               "VALUES ('老公司', 'old', '{}', CURRENT_TIMESTAMP) RETURNING id")).scalar_one()
        roles = {}
        for key, perms in [*old.items(), ("custom-x", {"customers": ["view"]})]:
            roles[key] = conn.execute(text(
                "INSERT INTO roles (workspace_id, key, name, builtin, scope, permissions, field_rules, created_at, "
                "updated_at, version) VALUES (:ws, :key, :key, :builtin, 'own', :perms, '{}', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, 1) RETURNING id"),
                {"ws": ws, "key": key, "builtin": key != "custom-x", "perms": json.dumps(perms)}).scalar_one()
        cust = conn.execute(text(
            "INSERT INTO customers (workspace_id, kind, name, phones, emails, stage, tags, custom, created_at, "
            "updated_at, version) VALUES (:ws, 'company', '老客户', '[]', '[]', 'potential', '[]', '{}', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1) RETURNING id"), {"ws": ws}).scalar_one()
        contact = conn.execute(text(
            "INSERT INTO contacts (workspace_id, customer_id, name, phones, emails, is_primary, created_at, updated_at, "
            "version) VALUES (:ws, :c, '王经理', '[]', '[]', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1) "
            "RETURNING id"), {"ws": ws, "c": cust}).scalar_one()
        for kind, rtype, rid in (("customer.created", "customer", cust), ("contact.created", "contact", contact),
                                 ("role.updated", "role", roles["sales"])):
            conn.execute(text("INSERT INTO domain_events (workspace_id, at, kind, record_type, record_id, payload) "
                              "VALUES (:ws, CURRENT_TIMESTAMP, :k, :t, :r, '{}')"),
                         {"ws": ws, "k": kind, "t": rtype, "r": rid})
    engine.dispose()

    upgrade(empty_url)
    engine = create_engine(sync_url(empty_url))
    with engine.connect() as conn:
        perms = {k: _perms(v) for k, v in conn.execute(text("SELECT key, permissions FROM roles")).all()}
        events = conn.execute(text("SELECT kind, customer_id FROM domain_events ORDER BY id")).all()
        assert NEW_TABLES <= set(inspect(conn).get_table_names())
        diffs = [d for d in compare_metadata(MigrationContext.configure(conn), Base.metadata)
                 if not (d[0] == "remove_table" and d[1].name.startswith("customer_fts"))
                 and "search" not in str(d) and "fk_teams_manager_id_users" not in str(d)]
    engine.dispose()
    assert diffs == []  # the migrated schema is the models' schema
    for key in ("admin", "sales", "marketing"):
        expected = {m: a for m, a in BUILTIN_ROLES[key]["permissions"].items() if m in ("activities", "tasks")}
        assert {m: perms[key][m] for m in ("activities", "tasks")} == expected, key
        assert perms[key]["customers"] == old[key]["customers"]  # what an admin changed stays changed
    assert perms["custom-x"] == {"customers": ["view"]}  # custom roles are the admin's business
    assert events == [("customer.created", cust), ("contact.created", cust), ("role.updated", None)]

    downgrade(empty_url, "0001")
    engine = create_engine(sync_url(empty_url))
    with engine.connect() as conn:
        assert not NEW_TABLES & set(inspect(conn).get_table_names())
        assert "last_contacted_at" not in {c["name"] for c in inspect(conn).get_columns("customers")}
        perms = {k: _perms(v) for k, v in conn.execute(text("SELECT key, permissions FROM roles")).all()}
        assert perms["sales"] == old["sales"]
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 1
    engine.dispose()
    upgrade(empty_url)
