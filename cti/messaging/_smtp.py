"""Sign-in codes, survey links and agents' answers to customers' messages by e-mail, over SMTP (the standard
library's client, in a worker thread)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from typing import Final, Literal

from cti.types import Language

__all__ = ["SmtpMailer", "answer_mail", "code_mail", "survey_mail"]

_SUBJECT: Final = {"id": "Kode masuk Anda: {code}", "en": "Your sign-in code: {code}"}
_BODY: Final = {
    "id": "Kode masuk portal pelanggan Anda adalah {code}.\n\nKode ini berlaku {minutes} menit dan hanya dapat "
          "dipakai sekali. Jika Anda tidak memintanya, abaikan e-mail ini.\n",
    "en": "Your customer portal sign-in code is {code}.\n\nIt is valid for {minutes} minutes and works once. If you "
          "did not ask for it, ignore this mail.\n",
}


def code_mail(sender: str, to: str, code: str, *, language: Language, minutes: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = _SUBJECT[language].format(code=code)
    message.set_content(_BODY[language].format(code=code, minutes=minutes))
    return message


_SURVEY_SUBJECT: Final = {"id": "Bagaimana layanan kami? {title}", "en": "How did we do? {title}"}
_SURVEY_BODY: Final = {
    "id": "Terima kasih telah menghubungi kami. Mohon luangkan satu menit untuk menilai layanan kami:\n\n{link}\n\n"
          "Tautan ini hanya untuk Anda, berlaku {days} hari dan hanya dapat dipakai sekali.\n",
    "en": "Thank you for contacting us. Please take a minute to tell us how we did:\n\n{link}\n\n"
          "This link is yours alone, works for {days} days and only once.\n",
}


def survey_mail(sender: str, to: str, link: str, *, language: Language, title: str, days: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = _SURVEY_SUBJECT[language].format(title=title)
    message.set_content(_SURVEY_BODY[language].format(link=link, days=days))
    return message


_ANSWER_SUBJECT: Final = {"id": "Jawaban atas pesan Anda", "en": "The answer to your message"}
_YOU_WROTE: Final = {"id": "Anda menulis:", "en": "You wrote:"}


def answer_mail(sender: str, to: str, answer: str, *, language: Language, message: str | None) -> EmailMessage:
    """An agent's answer, as they wrote it; below it, the customer's own message quoted (what it answers)."""
    body = answer.rstrip() + "\n"
    if message:
        quoted = "\n".join(f"> {line}" if line else ">" for line in message.splitlines())
        body += f"\n{_YOU_WROTE[language]}\n{quoted}\n"
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = _ANSWER_SUBJECT[language]
    mail.set_content(body)
    return mail


class SmtpMailer:
    def __init__(self, host: str, port: int, *, security: Literal["starttls", "ssl", "none"] = "starttls",
                 user: str | None = None, password: str | None = None, sender: str = "cti@localhost",
                 timeout: float = 15.0) -> None:
        self._host = host
        self._port = port
        self._security = security
        self._user = user
        self._password = password
        self._sender = sender
        self._timeout = timeout

    def __repr__(self) -> str:  # never the password
        return f"SmtpMailer({self._host}:{self._port}, {self._security})"

    async def send_code(self, to: str, code: str, *, language: Language, minutes: int) -> None:
        await asyncio.to_thread(self._send, code_mail(self._sender, to, code, language=language, minutes=minutes))

    async def send_survey(self, to: str, link: str, *, language: Language, title: str, days: int) -> None:
        await asyncio.to_thread(self._send, survey_mail(self._sender, to, link, language=language, title=title,
                                                        days=days))

    async def send_answer(self, to: str, answer: str, *, language: Language, message: str | None) -> None:
        await asyncio.to_thread(self._send, answer_mail(self._sender, to, answer, language=language, message=message))

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self._security == "ssl":
            client = smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout, context=context)
        else:
            client = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        with client:
            if self._security == "starttls":
                client.starttls(context=context)
            if self._user:
                client.login(self._user, self._password or "")
            client.send_message(message)
