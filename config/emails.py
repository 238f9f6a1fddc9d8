"""The one door for outgoing mail: every email is a trio of templates rendered here.

`templates/emails/<name>_subject.txt`, `<name>.txt` and `<name>.html` make one message,
sent through django.core.mail with the MAILERS setting (Django 6.1). Nothing else in the
project builds or sends email, so tests replace one thing (the mailer) and a reader
finds every message the project can send in one folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string

from lib.text import clean_line, clean_text


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


def render_email(name: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) for the template trio `name`."""
    context = {"ORG_NAME": settings.ORG_NAME, "ORG_EMAIL": settings.ORG_EMAIL, **context}
    # A subject is one line: template whitespace and newlines must not reach the header.
    # Names in the context may carry control characters from older rows or from Stripe.
    subject = " ".join(clean_line(render_to_string(f"emails/{name}_subject.txt", context)).split())
    text = clean_text(render_to_string(f"emails/{name}.txt", context))
    html = clean_text(render_to_string(f"emails/{name}.html", context))
    return subject, text, html


def build_email(
    name: str, *, to: list[str], context: dict, attachments: Iterable[Attachment] = ()
) -> EmailMultiAlternatives:
    subject, text, html = render_email(name, context)
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, to, reply_to=[settings.ORG_EMAIL]
    )
    message.attach_alternative(html, "text/html")
    for attachment in attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    return message


def send_built(messages: list[EmailMultiAlternatives], *, using: str = "default") -> int:
    """Send many messages over one connection (one SMTP session for a whole batch)."""
    return mailers[using].send_messages(messages) or 0


def send_email(
    name: str,
    *,
    to: list[str],
    context: dict,
    attachments: Iterable[Attachment] = (),
    using: str = "default",
) -> None:
    build_email(name, to=to, context=context, attachments=attachments).send(using=using)
