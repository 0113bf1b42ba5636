"""Announcements and rule messages in the caller's language."""

from __future__ import annotations

import math

from cti.ivr import message_text, position_text


def test_position_and_wait_in_both_languages() -> None:
    assert position_text(1, 30, "id") == "Anda berada di urutan berikutnya. Perkiraan waktu tunggu Anda satu menit."
    assert position_text(1, 30, "en") == "You are next in line. Your estimated wait is one minute."
    assert position_text(4, 125, "id") == "Ada tiga penelepon sebelum Anda. Perkiraan waktu tunggu Anda tiga menit."
    assert position_text(12, 600, "en") == "There are eleven callers ahead of you. Your estimated wait is ten minutes."


def test_unknown_or_absurd_waits_are_not_announced() -> None:
    assert position_text(2, math.inf, "en") == "There is one caller ahead of you."
    assert position_text(2, math.nan, "id") == "Ada satu penelepon sebelum Anda."
    assert position_text(3, 0, "id") == "Ada dua penelepon sebelum Anda."
    assert position_text(3, 4000, "en") == "There are two callers ahead of you."


def test_messages() -> None:
    assert "tidak tersedia" in (message_text("ss-noservice", "id") or "")
    assert message_text("auth-thankyou", "en") == (
        "Thank you. We will call you back, and you keep your place in the queue.")
    assert message_text("custom/closing-recorded", "id") is None
