"""Which webhook URLs cti refuses to call (server-side request forgery), without the network: IP literals resolve
to themselves, malformed URLs never reach a resolver."""

from __future__ import annotations

import pytest

from cti.errors import InvalidInput
from cti.messaging import HttpWebhookSender, address_refusal


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "a loopback address"),
    ("::1", "a loopback address"),
    ("169.254.169.254", "a link-local address"),  # a cloud's metadata service
    ("fe80::1%eth0", "a link-local address"),
    ("10.1.2.3", "a private or reserved address"),
    ("192.168.0.10", "a private or reserved address"),
    ("172.16.5.4", "a private or reserved address"),
    ("100.64.0.1", "a private or reserved address"),  # carrier-grade NAT
    ("0.0.0.0", "a private or reserved address"),
    ("::ffff:10.0.0.1", "a private or reserved address"),  # an IPv4-mapped private address
    ("224.0.0.1", "a private or reserved address"),
    ("8.8.8.8", None),
    ("2606:4700:4700::1111", None),
])
def test_internal_addresses_are_refused_and_public_ones_taken(address: str, why: str | None) -> None:
    assert address_refusal(address) == why


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8088/ari/channels", "http://[::1]/x", "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.5/hook", "https://user:pw@8.8.8.8/hook", "ftp://8.8.8.8/x", "http://[::1", "http://8.8.8.8:99999/x",
    "http:///nohost", "javascript:alert(1)",
])
async def test_a_url_cti_may_not_call_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await HttpWebhookSender(timeout=1.0).check(url)
    assert refused.value.code == "webhook_url_refused"


async def test_an_operator_may_allow_private_addresses_but_never_credentials_or_other_schemes() -> None:
    sender = HttpWebhookSender(timeout=1.0, allow_private=True)
    await sender.check("http://127.0.0.1:8080/hooks")
    await sender.check("https://8.8.8.8/hooks")
    for url in ("http://user:pw@127.0.0.1/x", "file:///etc/passwd"):
        with pytest.raises(InvalidInput):
            await sender.check(url)
