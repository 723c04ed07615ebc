"""Sending one mail through the server named by ``COMPANION_MAIL_URL``.

``smtp://user:password@host:port`` (plain, as on a loopback relay), ``smtp+starttls://`` or
``smtps://``. Invitations and notifications both send through here; neither logs a message's
content (an address or a text can tell who is in treatment).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit


def send(message: EmailMessage, mail_url: str, timeout: float = 10) -> None:
    """Hand ``message`` to the mail server of ``mail_url``; raises OSError or an
    smtplib.SMTPException when it cannot."""
    parts = urlsplit(mail_url)
    smtp_cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with smtp_cls(parts.hostname or "localhost", parts.port or 25, timeout=timeout) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
