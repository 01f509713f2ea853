"""Rendering fixtures/server.yaml and the server's command line per version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from harness.server.config import SERVICES, ServerSettings, render, start_arguments
from harness.types import ServerVersion


def test_render_fills_ports_jwks_and_authorization(tmp_path: Path) -> None:
    cfg = render(tmp_path, ["http://127.0.0.1:9/jwks.json"], ServerSettings(refresh_interval="3s"))
    doc = yaml.safe_load(cfg.config_file.read_text())
    auth = doc["global"]["authorization"]
    assert auth["authorizer"] == "default" and auth["claimMapper"] == "default"
    assert auth["jwtKeyProvider"] == {
        "keySourceURIs": ["http://127.0.0.1:9/jwks.json"],
        "refreshInterval": "3s",
    }
    ports = [p for s in SERVICES for k, p in doc["services"][s]["rpc"].items() if k.endswith("Port")]
    assert len(ports) == len(set(ports)) and all(p > 0 for p in ports)
    assert set(doc["services"]) == set(SERVICES)  # internal-frontend included
    # internal-frontend answers everyone as system admin: no HTTP port, and mTLS on its gRPC port.
    assert "httpPort" not in doc["services"]["internal-frontend"]["rpc"]
    internode = doc["global"]["tls"]["internode"]
    assert internode["server"]["requireClientAuth"] is True
    assert (
        Path(internode["server"]["certFile"]).is_file()
        and Path(internode["client"]["rootCaFiles"][0]).is_file()
    )
    assert cfg.internode is not None and cfg.internode.key.parent == tmp_path / "tls"
    assert "publicClient" not in doc  # must stay unset with internal-frontend
    assert all(s["rpc"]["bindOnLocalHost"] for s in doc["services"].values())
    assert cfg.frontend_address == f"127.0.0.1:{doc['services']['frontend']['rpc']['grpcPort']}"
    assert Path(doc["dynamicConfigClient"]["filepath"]).is_file()
    assert doc["clusterMetadata"]["clusterInformation"]["active"]["rpcAddress"] == cfg.frontend_address


def test_overrides_unmodelled_and_removal(tmp_path: Path) -> None:
    settings = ServerSettings(
        authorization={
            "audience": "app",
            "permissionsClaimName": None,
            "permissionsRegex": "(?P<namespace>.*)",
        },
        unmodelled={"authorizer": ""},
        key_source_uris=["http://127.0.0.1:1/a", ""],
        dynamic_config={"system.enableCrossNamespaceCommands": True},
    )
    cfg = render(tmp_path, ["http://ignored"], settings)
    auth = yaml.safe_load(cfg.config_file.read_text())["global"]["authorization"]
    assert auth["audience"] == "app" and "permissionsClaimName" not in auth and auth["authorizer"] == ""
    assert auth["jwtKeyProvider"]["keySourceURIs"] == ["http://127.0.0.1:1/a", ""]
    dynamic = yaml.safe_load((tmp_path / "dynamicconfig.yaml").read_text())
    assert dynamic["system.enableCrossNamespaceCommands"] == [{"value": True}]
    # The model sees the modelled keys only.
    assert settings.auth_config().audience == "app"
    assert settings.auth_config().permissions_claim_name == "permissions"
    assert settings.key() != ServerSettings().key()


def test_start_arguments_by_version(tmp_path: Path) -> None:
    new = start_arguments(ServerVersion.parse("v1.32.2"), tmp_path / "server.yaml")
    assert new[:3] == ["--config-file", str(tmp_path / "server.yaml"), "start"]
    assert new.count("--service") == 5 and "internal-frontend" in new
    old = start_arguments(ServerVersion.parse("v1.29.7"), tmp_path / "server.yaml")
    assert old[:6] == ["--root", "/", "--config", str(tmp_path), "--env", "server"]


def _ports_blanked(doc: dict[str, object]) -> str:
    """The rendered document with every port and path that differs per render blanked."""
    text = yaml.safe_dump(doc, sort_keys=True)
    return re.sub(r"(Port: |127\.0\.0\.1:)\d+|/tmp\S+|/[^\s]*pytest[^\s]*", "X", text)


def test_render_for_the_newest_release_is_the_base_render(tmp_path: Path) -> None:
    settings = ServerSettings()
    newest = render(
        tmp_path / "a", ["http://127.0.0.1:9/jwks.json"], settings, ServerVersion.parse("v1.32.2")
    )
    default = render(tmp_path / "b", ["http://127.0.0.1:9/jwks.json"], settings)
    assert _ports_blanked(dict(newest.document)) == _ports_blanked(dict(default.document))
    assert newest.http_address is not None and "httpAddress" in str(newest.document["clusterMetadata"])


@pytest.mark.parametrize(
    ("version", "http_api", "cluster_http_address"),
    [("v1.20.5", False, False), ("v1.21.6", False, False), ("v1.22.0", True, False), ("v1.24.1", True, True)],
)
def test_render_leaves_out_what_a_release_does_not_have(
    tmp_path: Path, version: str, http_api: bool, cluster_http_address: bool
) -> None:
    cfg = render(
        tmp_path,
        ["http://127.0.0.1:9/jwks.json"],
        ServerSettings(internal_http=True),
        ServerVersion.parse(version),
    )
    doc = yaml.safe_load(cfg.config_file.read_text())
    has_http = {name for name, service in doc["services"].items() if "httpPort" in service["rpc"]}
    assert has_http == ({"frontend", "internal-frontend"} if http_api else set())
    assert (cfg.http_address is not None) == http_api
    assert ("httpAddress" in doc["clusterMetadata"]["clusterInformation"]["active"]) == cluster_http_address
    assert all(name.endswith("Port") and port > 0 for s in cfg.ports.values() for name, port in s.items())
    assert set(doc["services"]) == set(SERVICES)  # internal-frontend exists since 1.20


@pytest.mark.parametrize(("version", "listens"), [("v1.30.9", False), ("v1.31.0", True)])
def test_the_worker_grpc_port_is_named_only_where_the_worker_listens(
    tmp_path: Path, version: str, listens: bool
) -> None:
    cfg = render(tmp_path, ["http://127.0.0.1:9/jwks.json"], ServerSettings(), ServerVersion.parse(version))
    assert ("grpcPort" in cfg.ports["worker"]) is listens
    assert cfg.document["services"]["worker"]["rpc"]["grpcPort"] > 0  # membership still names it


def test_a_server_without_system_workers_starts_no_worker_service_and_lists_none_of_its_ports(
    tmp_path: Path,
) -> None:
    settings = ServerSettings(system_workers=False)
    assert settings.key() != ServerSettings().key()  # a different server in the pool
    config = render(tmp_path, ["http://127.0.0.1:1/jwks"], settings, ServerVersion.parse("v1.32.2"))
    args = start_arguments(ServerVersion.parse("v1.32.2"), config.config_file, config.services)
    assert args.count("--service") == 4 and "worker" not in args and "internal-frontend" in args
    assert "worker" not in config.ports  # nothing listens there: the doors test must not expect it
    assert "worker" in config.document["services"]  # still in the config the server reads
    full = render(
        tmp_path / "full", ["http://127.0.0.1:1/jwks"], ServerSettings(), ServerVersion.parse("v1.32.2")
    )
    assert full.services == SERVICES and "worker" in full.ports
