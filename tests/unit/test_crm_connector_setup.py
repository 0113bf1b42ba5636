"""Which CRM connector the composition root builds from the settings: none for cti's own CRM, the HTTP one with
its token from the file (which wins) or the setting, an operator's own by ``module:factory``; the token never in
the connector's repr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cti.bootstrap._app import _crm_connector
from cti.messaging import HttpCrmConnector
from cti.settings import Settings, SettingsError, load_settings

REQUIRED = {"ari_password": "ari-secret", "admin_token": "admin-Zq3vN8kR1tXw6YpL0mB4cD7fH2jS9uEa"}


class OwnConnector:
    name = "own"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def by_phone(self, e164: str) -> Any:
        return None

    async def by_ref(self, ref: str) -> Any:
        return None


def factory(settings: Settings) -> OwnConnector:
    return OwnConnector(settings)


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CTI_CONFIG_FILE", "CTI_CRM_CONNECTOR", "CTI_CRM_URL", "CTI_CRM_TOKEN", "CTI_CRM_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_cti_s_own_crm_needs_no_connector() -> None:
    assert _crm_connector(load_settings(**REQUIRED)) is None


def test_the_http_connector_takes_its_token_from_the_file_first(tmp_path: Path) -> None:
    token_file = tmp_path / "crm-token"
    token_file.write_text("from-the-file-0123\n", encoding="utf-8")
    settings = load_settings(**REQUIRED, crm_connector="http", crm_url="https://crm.example:8443/api",
                             crm_token="from-the-setting", crm_token_file=token_file)
    connector = _crm_connector(settings)
    assert isinstance(connector, HttpCrmConnector)
    assert connector._headers["Authorization"] == "Bearer from-the-file-0123"
    assert repr(connector) == "HttpCrmConnector('https://crm.example:8443/api')"  # no token
    plain = _crm_connector(load_settings(**REQUIRED, crm_connector="http", crm_url="https://crm.example",
                                         crm_token="from-the-setting"))
    assert isinstance(plain, HttpCrmConnector)
    assert plain._headers["Authorization"] == "Bearer from-the-setting"
    bare = _crm_connector(load_settings(**REQUIRED, crm_connector="http", crm_url="https://crm.example"))
    assert isinstance(bare, HttpCrmConnector) and "Authorization" not in bare._headers


def test_an_unreadable_token_file_stops_the_start_without_saying_more(tmp_path: Path) -> None:
    settings = load_settings(**REQUIRED, crm_connector="http", crm_url="https://crm.example",
                             crm_token_file=tmp_path / "missing")
    with pytest.raises(SettingsError) as refused:
        _crm_connector(settings)
    assert str(refused.value) == "CTI_CRM_TOKEN_FILE cannot be read: FileNotFoundError"


def test_an_operator_s_own_connector_is_built_by_its_factory() -> None:
    settings = load_settings(**REQUIRED, crm_connector="tests.unit.test_crm_connector_setup:factory")
    connector = _crm_connector(settings)
    assert isinstance(connector, OwnConnector) and connector.settings is settings
