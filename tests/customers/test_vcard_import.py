"""vCard import into a customer's contacts: the cards phones export (2.1 quoted-printable, GB18030, 3.0 folded,
4.0 URIs), no doubles, a report per card, bad files refused whole, permission and audit; and a round trip."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from guanxi.audit.models import AuditEntry
from guanxi.customers.models import Contact
from guanxi.kit.vcard import VcardError, parse
from tests.fixtures.factories import call, make_contact, make_customer, make_world

pytestmark = pytest.mark.anyio


def qp(text: str, charset: str = "utf-8") -> bytes:
    return b"".join(b"=%02X" % b for b in text.encode(charset))


# an Android phone's export: 2.1, names as quoted-printable UTF-8 with a soft line break, N without FN
ANDROID = (b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
           b"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:" + qp("张") + b";" + qp("伟") + b";;;\r\n"
           b"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:" + qp("张伟")[:12] + b"=\r\n" + qp("张伟")[12:] + b"\r\n"
           b"TEL;CELL:138-1234-5678\r\nTEL;WORK;VOICE:021 6234 5678\r\n"
           b"EMAIL;HOME:zhang.wei@example.cn\r\n"
           b"TITLE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:" + qp("采购经理") + b"\r\n"
           b"BDAY:1985-04-12\r\n"
           b"PHOTO;ENCODING=BASE64;JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\r\n /2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkS\r\n\r\n"
           b"END:VCARD\r\n")
# an older handset: 2.1 with GB18030 bytes, no CHARSET
OLD_PHONE = ("BEGIN:VCARD\nVERSION:2.1\nN:李;娜\nTEL;CELL:+86 139 0000 1111\nNOTE:老客户介绍\nEND:VCARD\n"
             ).encode("gb18030")
# iPhone 3.0: grouped properties, folded lines, escapes
IPHONE = ("BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\nN:Wang;Fang;;;\r\n"
          "FN:王芳\r\nORG:星河科技;销售部\r\nTITLE:销售总监\r\n"
          "item1.TEL;type=pref:+86 137 2222 3333\r\nitem1.X-ABLabel:_$!<Mobile>!$_\r\n"
          "EMAIL;type=INTERNET;type=WORK:fang@xinghe.cn\r\n"
          "NOTE:第一行\\n第二行\\, 含逗号；并且是一条很长很长很长很长很长很长很长很长很长很长很长很长很\r\n 长的备注\r\n"
          "END:VCARD\r\n").encode()
# 4.0 with tel: URIs
V4 = (b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Li Lei\r\nN:Li;Lei;;;\r\nTEL;VALUE=uri;TYPE=cell:tel:+86-136-4444-5555\r\n"
      b"EMAIL:mailto:lilei@example.com\r\nBDAY:--0412\r\nEND:VCARD\r\n")


def test_parse_all_the_flavours():
    [zhang] = parse(ANDROID)
    assert zhang.name == "张伟" and zhang.title == "采购经理" and str(zhang.birthday) == "1985-04-12"
    assert zhang.phones == ["138-1234-5678", "021 6234 5678"] and zhang.emails == ["zhang.wei@example.cn"]
    [li] = parse(OLD_PHONE)
    assert li.name == "李娜" and li.phones == ["+86 139 0000 1111"] and li.notes == "老客户介绍"
    [fang] = parse(IPHONE)
    assert fang.name == "王芳" and fang.title == "销售总监" and fang.org == "星河科技 销售部"
    assert fang.phones == ["+86 137 2222 3333"] and fang.emails == ["fang@xinghe.cn"]
    assert fang.notes is not None and fang.notes.startswith("第一行\n第二行, 含逗号") and fang.notes.endswith("长的备注")
    [lei] = parse(V4)
    assert lei.name == "Li Lei" and lei.phones == ["+86-136-4444-5555"] and lei.emails == ["lilei@example.com"]
    assert lei.birthday is None and lei.problems == ["BDAY --0412"]  # no year: left out, and said so
    assert [c.name for c in parse(ANDROID + IPHONE + V4)] == ["张伟", "王芳", "Li Lei"]
    assert parse("\ufeff".encode() + IPHONE)[0].name == "王芳"


@pytest.mark.parametrize(("data", "code"), [
    (b"", "vcard_invalid"), (b"name,phone\n\xe5\xbc\xa0,138\n", "vcard_invalid"), (b"%PDF-1.7\n\x00\x01", "vcard_invalid"),
    (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n", "vcard_invalid"), (b"END:VCARD\r\n", "vcard_invalid"),
    (b"BEGIN:VCARD\r\nBEGIN:VCARD\r\nEND:VCARD\r\n", "vcard_invalid"),
])
def test_parse_refuses_what_is_not_vcard(data, code):
    with pytest.raises(VcardError) as e:
        parse(data)
    assert e.value.code == code


async def upload(client, w, who, customer_id, data, name="contacts.vcf"):  # type: ignore[no-untyped-def]
    return await call(client, w, who, "POST", f"/api/v1/customers/{customer_id}/contacts/vcard",
                      files={"file": (name, data, "text/vcard")})


async def contacts_of(db, customer_id) -> list[Contact]:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        return list(await s.scalars(select(Contact).where(Contact.customer_id == customer_id,
                                                          Contact.deleted_at.is_(None)).order_by(Contact.id)))


async def test_import_creates_updates_skips_and_reports(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales", name="星河科技")
    known = await make_contact(db, w, c, "张伟", phones=["13812345678"])  # the same mobile as the Android card
    same = ("BEGIN:VCARD\nVERSION:3.0\nFN:李娜\nTEL:13900001111\nEND:VCARD\n").encode()
    nameless = b"BEGIN:VCARD\nVERSION:3.0\nTEL:13700009999\nEND:VCARD\n"
    bad_phone = "BEGIN:VCARD\nVERSION:3.0\nFN:赵六\nTEL:12\nEMAIL:zhao@\nEND:VCARD\n".encode()
    r = await upload(client, w, "sales", c.id, ANDROID + OLD_PHONE + IPHONE + same + nameless + bad_phone)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["updated"], body["skipped"], body["failed"]) == (3, 1, 1, 1)
    by_index = {i["index"]: i for i in body["items"]}
    assert by_index[1]["status"] == "updated" and by_index[1]["contact_id"] == known.id
    assert by_index[2]["status"] == "created" and by_index[3]["status"] == "created"
    assert by_index[4]["status"] == "skipped" and by_index[4]["reason"].startswith("已存在")  # same mobile as card 2
    assert by_index[5]["status"] == "failed" and by_index[5]["reason"] == "没有姓名"
    assert by_index[6]["status"] == "created" and "12" in by_index[6]["reason"] and "zhao@" in by_index[6]["reason"]

    contacts = await contacts_of(db, c.id)
    assert [x.name for x in contacts] == ["张伟", "李娜", "王芳", "赵六"]
    zhang = contacts[0]
    assert zhang.phones == ["138 1234 5678", "021 6234 5678"] and zhang.emails == ["zhang.wei@example.cn"]
    assert zhang.title == "采购经理" and str(zhang.birthday) == "1985-04-12" and zhang.version == 2
    assert contacts[3].phones == [] and contacts[3].emails == []

    again = await upload(client, w, "sales", c.id, ANDROID + OLD_PHONE + IPHONE)  # importing twice doubles nothing
    assert again.json()["skipped"] == 3 and len(await contacts_of(db, c.id)) == 4
    async with db.session() as s:
        [first, second] = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.workspace_id == w.workspace_id, AuditEntry.action == "import").order_by(AuditEntry.id)))
        created = await s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.workspace_id == w.workspace_id, AuditEntry.record_type == "contact",
            AuditEntry.action == "create"))
    assert first.record_type == "customer" and first.record_id == c.id and first.user_id == w.users["sales"].id
    assert {ch["field"]: ch["new"] for ch in first.changes["items"]} == {
        "format": "vcard", "cards": 6, "created": 3, "updated": 1, "skipped": 1, "failed": 1}
    assert second.changes["items"][1]["new"] == 3 and created == 3  # each contact has its own audit row too


async def test_bad_files_are_refused_whole_and_write_nothing(client, db, settings):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    cut = ANDROID + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:半张\r\n".encode()  # cut off mid-card: the good card is not written either
    for data, status, code in ((cut, 422, "vcard_invalid"), (b"hello", 422, "vcard_invalid"),
                               (b"BEGIN:VCARD\r\n" + b"NOTE:" + b"x" * (2 * 1024 * 1024) + b"\r\nEND:VCARD\r\n", 413, None)):
        r = await upload(client, w, "sales", c.id, data)
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        if code:
            assert r.json()["code"] == code and r.json()["detail"] == "不是有效的 vCard 文件"
    assert await contacts_of(db, c.id) == []
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.workspace_id == w.workspace_id)) == 0


async def test_permission_and_scope(client, db):
    w = await make_world(db)
    c = await make_customer(db, w, "sales")
    other = await make_customer(db, w, "other_team")
    for who in ("readonly", "marketing", "service"):  # no import right (service may edit, but not import files)
        assert (await upload(client, w, who, c.id, IPHONE)).status_code == 403, who
    assert (await upload(client, w, "sales", other.id, IPHONE)).status_code == 404
    assert (await upload(client, w, "sales", 999999999, IPHONE)).status_code == 404
    assert await contacts_of(db, c.id) == []


async def test_round_trip_export_then_import_into_another_customer(client, db):
    w = await make_world(db)
    a = await make_customer(db, w, "sales", name="甲公司")
    b = await make_customer(db, w, "sales", name="乙公司")
    await make_contact(db, w, a, "王经理", title="采购经理, 华东区", phones=["138 1234 5678", "021 6234 5678"],
                       emails=["wang@jia.cn"])
    await make_contact(db, w, a, "Mary O'Neil;Jr", is_primary=False, emails=["mary@jia.cn"])
    await make_contact(db, w, a, "很长的名字" * 12, is_primary=False, phones=["139 0000 1111"])
    r = await call(client, w, "admin", "GET", f"/api/v1/customers/{a.id}/contacts/vcard")
    assert r.status_code == 200
    r = await upload(client, w, "sales", b.id, r.content)
    assert r.status_code == 200 and r.json()["created"] == 3, r.text

    def shape(rows: list[Contact]) -> list[tuple]:
        return sorted((x.name, x.title, x.phones, x.emails) for x in rows)

    assert shape(await contacts_of(db, b.id)) == shape(await contacts_of(db, a.id))
