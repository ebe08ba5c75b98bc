"""`guanxi export`: the same writer in-process, as one user may see the list, with a progress bar; audited."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from tests.exports.conftest import changes, exports_audited, read_csv
from tests.fixtures.factories import make_customer, make_task, make_world

pytestmark = pytest.mark.anyio


def guanxi(tmp_path, database_url, *args):  # type: ignore[no-untyped-def]
    env = {**os.environ, "GUANXI_DATA_DIR": str(tmp_path), "GUANXI_DATABASE_URL": database_url,
           "GUANXI_SECRET_KEY": "test-secret", "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "guanxi.cli", "export", *args], capture_output=True, text=True, check=False,
                          env=env, timeout=300)


async def test_export_as_a_user_with_filters_masking_and_audit(db, database_url, tmp_path):
    w = await make_world(db)
    a = await make_customer(db, w, "sales", name="杭州甲公司", city="杭州", phones=["13812345678"])
    await make_customer(db, w, "sales", name="-杭州乙公司", city="杭州")
    await make_customer(db, w, "sales", name="上海丙公司", city="上海")
    out = tmp_path / "customers.csv"
    r = guanxi(tmp_path, database_url, "--type", "customers", "--workspace", w.slug, "--user",
               w.users["marketing"].email.upper(), "--filter", "city:eq:杭州", "--sort", "name", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "Wrote 2 rows" in r.stdout and "客户" in r.stderr  # the progress bar goes to stderr
    rows = read_csv(out.read_bytes())
    assert [x[0] for x in rows[1:]] == ["'-杭州乙公司", a.name]
    phone = rows[1 + [x[0] for x in rows[1:]].index(a.name)][rows[0].index("电话")]
    assert "****" in phone  # marketing sees phones masked, here too
    [entry] = await exports_audited(db, w.workspace_id)
    assert entry.user_id == w.users["marketing"].id and entry.ip == "cli"
    assert changes(entry)["via"] == "cli" and changes(entry)["rows"] == 2


async def test_tasks_to_xlsx_with_list_parameters(db, database_url, tmp_path):
    w = await make_world(db)
    await make_task(db, w, "sales", title="打电话")
    await make_task(db, w, "sales", title="已完成的", status="done")
    out = tmp_path / "tasks.xlsx"
    r = guanxi(tmp_path, database_url, "--type", "tasks", "--workspace", w.slug, "--user", w.users["admin"].email,
               "--format", "xlsx", "--param", "status=open", "--columns", "title,status", "-o", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))
    assert rows == [("标题", "状态"), ("打电话", "未完成")]


@pytest.mark.parametrize(("args", "needle"), [
    (["--type", "customers", "--user", "readonly"], "forbidden"),
    (["--type", "customers", "--user", "nobody"], "no active user"),
    (["--type", "orders", "--user", "admin"], "list"),
    (["--type", "customers", "--user", "admin", "--format", "pdf"], "format"),
    (["--type", "customers", "--user", "admin", "--filter", "bogus:eq:1"], "invalid_filter"),
    (["--type", "tasks", "--user", "admin", "--param", "status"], "key=value"),
])
async def test_refusals_are_one_clear_line_and_write_nothing(db, database_url, tmp_path, args, needle):
    w = await make_world(db)
    args = [w.users[a].email if a in w.users else (f"{a}@example.com" if a == "nobody" else a) for a in args]
    out = tmp_path / "x.csv"
    r = guanxi(tmp_path, database_url, *args, "--workspace", w.slug, "-o", str(out))
    assert r.returncode in (1, 2), r.stdout
    assert needle in r.stderr, r.stderr
    assert not out.exists()
    assert await exports_audited(db, w.workspace_id) == []
