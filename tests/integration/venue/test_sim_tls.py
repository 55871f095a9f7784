"""`--tls`: the venue serves https and wss with a certificate ordinary clients can be told to trust."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from websockets.asyncio.client import connect

from cryptoj_tui.sim.tls import ensure_certificate
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig


async def test_https_and_wss_with_a_trusted_self_signed_certificate(tmp_path: Path) -> None:
    async with PaperVenue(VenueConfig(step_interval=0, tls_dir=tmp_path)) as venue:
        assert venue.rest_url.startswith("https://") and venue.ws_url.startswith("wss://")
        assert venue.cert_path is not None
        trust = ssl.create_default_context(cafile=str(venue.cert_path))
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{venue.rest_url}/api/v3/brokerage/products", ssl=trust) as response:
                assert response.status == 200
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                async with http.get(f"{venue.rest_url}/api/v3/brokerage/products"):
                    pass
        async with connect(venue.ws_url, ssl=trust) as ws:
            await ws.send(json.dumps({"type": "subscribe", "channel": "status"}))
            assert json.loads(await ws.recv())["channel"] == "status"


def test_certificate_names_localhost_and_loopback_and_is_reused(tmp_path: Path) -> None:
    cert_path, key_path = ensure_certificate(tmp_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    assert (key_path.stat().st_mode & 0o777) == 0o600
    assert ensure_certificate(tmp_path) == (cert_path, key_path)
    assert cert_path.read_bytes() == ensure_certificate(tmp_path)[0].read_bytes()
