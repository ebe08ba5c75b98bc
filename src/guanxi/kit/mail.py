"""Outgoing mail over SMTP (GUANXI_SMTP_*): one plain-text message per send, UTF-8, proper headers."""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from guanxi.config import Settings


def _domain(settings: Settings) -> str:
    addresses = getaddresses([settings.mail_from])
    address = addresses[0][1] if addresses else ""
    return address.rsplit("@", 1)[-1] if "@" in address else (settings.smtp_host or "localhost")


def message_id(settings: Settings, key: str) -> str:
    """The same id for every attempt at one message, so a mail client can tell a resend from a new message."""
    return f"<{key}@{_domain(settings)}>"


def build(settings: Settings, *, to_name: str, to_email: str, subject: str, body: str, when: datetime,
          msg_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    user, _, domain = to_email.rpartition("@")
    msg["To"] = Address(display_name=to_name, username=user, domain=domain)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = msg_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    msg.set_content(body, charset="utf-8")
    return msg


def send(settings: Settings, msg: EmailMessage) -> None:
    """Blocking: run it in a thread from async code. Raises on any failure (the outbox retries)."""
    host, port, timeout = settings.smtp_host, settings.smtp_port_resolved, settings.smtp_timeout
    smtp: smtplib.SMTP
    if settings.smtp_ssl:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(msg)
