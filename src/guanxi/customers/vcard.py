"""Contacts from a phone's address book: a .vcf file imported into one customer.

The whole file is read and checked before anything is written: a file that is not vCard is one problem and
changes nothing. Each card then becomes a contact through the same service calls as the contact form (field
rules, normalising, audit rows): a card whose phone or email (normalised) is already on one of the customer's
contacts updates that contact with what it adds, or is skipped when it adds nothing — never a second copy.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.audit import service as audit
from guanxi.authz.core import Principal
from guanxi.customers import schemas as s
from guanxi.customers import service
from guanxi.customers.models import Contact
from guanxi.kit.errors import Problem
from guanxi.kit.i18n import current_language, t
from guanxi.kit.normalize import PhoneError, normalize_email, normalize_phone
from guanxi.kit.vcard import Card, VcardError, parse

MAX_BYTES = 1024 * 1024
MAX_POINTS = 10  # phones or emails per contact, as the contact form allows

_REASONS = {
    "no_name": ("没有姓名", "No name"),
    "exists": ("已存在相同电话或邮箱的联系人，没有新信息", "A contact with the same phone or email exists; nothing new"),
    "dropped": ("以下内容无法识别，已忽略：", "Left out, not readable: "),
}


def _say(key: str) -> str:
    zh, en = _REASONS[key]
    return en if current_language.get() == "en" else zh


def _keys(phones: list[str], emails: list[str]) -> set[str]:
    keys = set()
    for ph in phones:
        try:
            keys.add("p:" + normalize_phone(ph)[1])
        except PhoneError:
            continue
    for e in emails:
        try:
            keys.add("e:" + normalize_email(e))
        except ValueError:
            continue
    return keys


def _readable(card: Card) -> tuple[list[str], list[str], list[str]]:
    """The card's phones and emails we can store, and those we cannot (reported, not fatal)."""
    phones, emails, dropped = [], [], list(card.problems)
    for ph in card.phones:
        try:
            normalize_phone(ph)
            phones.append(ph)
        except PhoneError:
            dropped.append(ph)
    for e in card.emails:
        try:
            normalize_email(e)
            emails.append(e)
        except ValueError:
            dropped.append(e)
    return phones, emails, dropped


def _problem_text(exc: Problem) -> str:
    if exc.errors:
        return "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
    return t(exc.code)


async def import_vcard(session: AsyncSession, p: Principal, customer_id: int, data: bytes) -> s.VcardImportResult:
    p.require("customers", "import")
    p.require("customers", "edit")
    customer = await service.get_customer(session, p, customer_id)
    if len(data) > MAX_BYTES:
        raise Problem(413, "vcard_too_large", max_bytes=MAX_BYTES)
    try:
        cards = parse(data)
    except VcardError as exc:
        raise Problem(422, exc.code) from None

    existing = list(await session.scalars(select(Contact).where(
        Contact.customer_id == customer.id, Contact.deleted_at.is_(None)).order_by(Contact.id)))
    by_key: dict[str, Contact] = {}
    for ct in existing:
        for k in _keys(ct.phones, ct.emails):
            by_key.setdefault(k, ct)

    items: list[s.VcardImportItem] = []
    for card in cards:
        phones, emails, dropped = _readable(card)
        note = (_say("dropped") + ", ".join(dropped)) if dropped else None
        if not card.name:
            items.append(s.VcardImportItem(index=card.index, name=card.phones[0] if card.phones else "",
                                           status="failed", reason=_say("no_name")))
            continue
        keys = _keys(phones, emails)
        match = next((by_key[k] for k in keys if k in by_key), None)
        try:
            if match is None:
                body = s.ContactCreate(name=card.name[:100], title=card.title, phones=phones[:MAX_POINTS],
                                       emails=emails[:MAX_POINTS], birthday=card.birthday, notes=card.notes)
                ct = await service.create_contact(session, p, customer.id, body)
                items.append(s.VcardImportItem(index=card.index, name=ct.name, status="created", contact_id=ct.id,
                                               reason=note))
            else:
                ct, changed = await _merge(session, p, match, card, phones, emails)
                items.append(s.VcardImportItem(index=card.index, name=ct.name, status="updated" if changed else "skipped",
                                               contact_id=ct.id, reason=note if changed else _say("exists")))
        except Problem as exc:
            items.append(s.VcardImportItem(index=card.index, name=card.name, status="failed",
                                           reason=_problem_text(exc)))
            continue
        except ValidationError as exc:
            items.append(s.VcardImportItem(index=card.index, name=card.name, status="failed",
                                           reason="; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                            for e in exc.errors())))
            continue
        for k in _keys(ct.phones, ct.emails):
            by_key.setdefault(k, ct)  # a second card for the same person in this file updates, too

    counts = {st: sum(1 for i in items if i.status == st) for st in ("created", "updated", "skipped", "failed")}
    audit.record(session, workspace_id=p.workspace_id, action="import", record_type="customer", record_id=customer.id,
                 label=customer.name, changes=[{"field": "format", "new": "vcard"}, {"field": "cards", "new": len(cards)},
                                               *({"field": k, "new": v} for k, v in counts.items())],
                 user_id=p.user_id, user_name=p.name, ip=p.ip)
    return s.VcardImportResult(**counts, items=items)


async def _merge(session: AsyncSession, p: Principal, ct: Contact, card: Card, phones: list[str],
                 emails: list[str]) -> tuple[Contact, bool]:
    """Add what the card knows and the contact lacks: new numbers and addresses, an empty title, birthday, note."""
    have = _keys(ct.phones, [])
    new_phones = [ph for ph in phones if not (_keys([ph], []) <= have)]
    have_e = _keys([], ct.emails)
    new_emails = [e for e in emails if not (_keys([], [e]) <= have_e)]
    patch: dict[str, Any] = {}
    if new_phones and len(ct.phones) < MAX_POINTS:
        patch["phones"] = (list(ct.phones) + new_phones)[:MAX_POINTS]
    if new_emails and len(ct.emails) < MAX_POINTS:
        patch["emails"] = (list(ct.emails) + new_emails)[:MAX_POINTS]
    if card.title and not ct.title:
        patch["title"] = card.title
    if card.birthday and not ct.birthday:
        patch["birthday"] = card.birthday
    if card.notes and not ct.notes:
        patch["notes"] = card.notes
    if not patch:
        return ct, False
    updated = await service.update_contact(session, p, ct.id, s.ContactWrite(**patch), f'"{ct.version}"')
    return updated, True
