"""Background jobs of notifications: the email copy of a notification, sent through the job outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.accounts.models import User
from guanxi.config import Settings
from guanxi.kit import mail, outbox
from guanxi.kit.jobs import JobContext, jobs_of
from guanxi.kit.models import utcnow
from guanxi.kit.outbox import JobOutbox, Skip
from guanxi.notifications.models import Notification


def mail_enabled(session: AsyncSession) -> bool:
    """Email copies are made when the unit of work has a job queue and SMTP is configured."""
    queue = jobs_of(session)
    return queue is not None and queue.settings.mail_enabled


def email_copy(session: AsyncSession, n: Notification, *, key: str | None = None,
               lines: Iterable[str] = ()) -> JobOutbox:
    """An outbox row for the email copy of `n` (its title, already in the recipient's language, is the subject).

    `key` makes the email once-only (a reminder occurrence); `lines` are extra lines for the mail body.
    """
    return outbox.add(session, "email", {
        "user_id": n.user_id, "kind": n.kind, "subject": n.title, "body": n.body, "link": n.link,
        "lines": list(lines)}, workspace_id=n.workspace_id, key=key)


def email_copies(session: AsyncSession, rows: Iterable[Notification]) -> None:
    if mail_enabled(session):
        for n in rows:
            email_copy(session, n)


def compose(settings: Settings, user_name: str, language: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and body in the recipient's language."""
    url = settings.base_url + (payload.get("link") or "/")
    extra = [line for line in [payload.get("body"), *payload.get("lines", [])] if line]
    if language == "en":
        parts = [f"Hello {user_name},", "", payload["subject"], *extra, "", f"Open in Guanxi: {url}", "",
                 "— Guanxi CRM", "This email was sent automatically; please do not reply to it."]
    else:
        parts = [f"{user_name}，你好：", "", payload["subject"], *extra, "", f"打开查看：{url}", "",
                 "—— 关系 CRM", "此邮件由系统自动发送，请勿直接回复。"]
    return payload["subject"], "\n".join(parts) + "\n"


@outbox.handler("email")
async def send_email(ctx: JobContext, row: JobOutbox) -> str | None:
    if not ctx.settings.mail_enabled:  # a server made the row, so this worker's settings are incomplete: show it
        raise RuntimeError("GUANXI_SMTP_HOST is not set where this job ran")
    async with ctx.db.session() as session:
        user = await session.scalar(select(User).where(User.id == row.payload.get("user_id")))
    if user is None or not user.active:
        raise Skip("the recipient is no longer an active user")
    if not user.email:
        raise Skip("the recipient has no email address")
    subject, body = compose(ctx.settings, user.name, user.language, row.payload)
    stamp = int(row.created_at.timestamp())
    msg = mail.build(ctx.settings, to_name=user.name, to_email=user.email, subject=subject, body=body,
                     when=utcnow(), msg_id=mail.message_id(ctx.settings, f"guanxi.{row.id}.{stamp}"))
    await asyncio.to_thread(mail.send, ctx.settings, msg)
    return None
