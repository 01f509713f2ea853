"""--target: the suites against a cluster the harness did not start (here: a server this test starts with
a JWKS of its own, standing in for a staging cluster behind an IdP). The harness signs with the key the
cluster trusts (--external-signing-key/--external-kid); tests that must control the JWKS skip with a reason."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from harness.jwks.fixture import JwksServer
from harness.server.config import ServerSettings, render
from harness.server.process import ProcessBackend
from harness.server.provision import DEFAULT_VERSION, provision
from harness.tokens.keys import SigningKey, rsa_key
from harness.types import ServerVersion
from tests.runs import run_pytest

VERSION = ServerVersion.parse(DEFAULT_VERSION)


def write_pem(key: SigningKey, path: Path) -> Path:
    path.write_bytes(
        key.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def test_external_target_with_the_clusters_signing_key(tmp_path: Path) -> None:
    key = rsa_key(kid="staging-idp-key")
    pem = write_pem(key, tmp_path / "idp.pem")  # the test's own temp dir: a stand-in for the IdP key
    with JwksServer() as idp:
        idp.publish(key)
        config = render(tmp_path / "server", [idp.url()], ServerSettings())
        server = asyncio.run(ProcessBackend().start(provision(VERSION), config))
        try:
            reports = tmp_path / "reports"
            result = run_pytest(
                reports,
                "-q",
                "-rs",
                "--target",
                server.address,
                "--external-signing-key",
                str(pem),
                "--external-kid",
                key.kid,
                "suites/test_smoke.py",
                "suites/test_matrix.py",
                "suites/test_rotation.py",
                "-k",
                "not test_cell or NamespaceReader",
            )
        finally:
            server.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "key source is not ours" in output  # the rotation tests skipped, saying why
    report = json.loads((reports / "conformance.json").read_text())
    assert report["server"]["backend"] == "external"
    assert report["server"]["controls_jwks"] is False
    assert report["summary"]["PASS"] > 100 and report["summary"]["FAIL"] == 0


def test_external_target_trusting_the_harness_jwks(tmp_path: Path) -> None:
    """The other way to gate a cluster: configure it to trust the harness's JWKS URL (a fixed port)."""
    from harness.server.ports import free_ports

    port = free_ports(1)[0]
    url = f"http://127.0.0.1:{port}/jwks.json"
    config = render(tmp_path / "server", [url], ServerSettings(refresh_interval="1s"))
    server = asyncio.run(ProcessBackend().start(provision(VERSION), config))
    try:
        reports = tmp_path / "reports"
        result = run_pytest(
            reports,
            "-q",
            "--target",
            server.address,
            "--jwks-port",
            str(port),
            "suites/test_smoke.py",
        )
    finally:
        server.stop()
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    report = json.loads((reports / "conformance.json").read_text())
    assert report["server"]["backend"] == "external" and report["server"]["controls_jwks"] is True
    assert report["summary"]["FAIL"] == 0 and report["summary"]["PASS"] >= 7


def _self_signed(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for localhost / 127.0.0.1 (test material only)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "authz-test-ca")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(2).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def test_external_target_over_tls(tmp_path: Path) -> None:
    """A cluster whose frontend speaks TLS: --target-ca and --target-server-name reach it, workers included."""
    import yaml
    from temporalio.service import TLSConfig

    from harness.server.config import start_arguments
    from harness.server.process import terminate
    from harness.server.readiness import wait_until_serving

    ca, cert, tls_key = _self_signed(tmp_path)
    key = rsa_key(kid="tls-idp")
    pem = write_pem(key, tmp_path / "idp.pem")
    with JwksServer() as idp:
        idp.publish(key)
        config = render(tmp_path / "server", [idp.url()], ServerSettings())
        doc = yaml.safe_load(config.config_file.read_text())
        doc["global"]["tls"]["frontend"] = {
            "server": {"certFile": str(cert), "keyFile": str(tls_key)},
            "client": {"rootCaFiles": [str(ca)]},
        }
        config.config_file.write_text(yaml.safe_dump(doc))
        binary = provision(VERSION)
        proc = subprocess.Popen(
            [str(binary.path), *start_arguments(VERSION, config.config_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            tls = TLSConfig(server_root_ca_cert=ca.read_bytes(), domain="localhost")
            asyncio.run(wait_until_serving(config.frontend_address, deadline=60, tls=tls))
            reports = tmp_path / "reports"
            result = run_pytest(
                reports,
                "-q",
                "--target",
                config.frontend_address,
                "--target-ca",
                str(ca),
                "--target-server-name",
                "localhost",
                "--external-signing-key",
                str(pem),
                "--external-kid",
                key.kid,
                "suites/test_smoke.py",
            )
            plain = run_pytest(
                tmp_path / "p",
                "-q",
                "--target",
                config.frontend_address,
                "--external-signing-key",
                str(pem),
                "--external-kid",
                key.kid,
                "suites/test_smoke.py",
            )
        finally:
            terminate(proc)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert json.loads((reports / "conformance.json").read_text())["summary"]["PASS"] >= 7
    assert plain.returncode == 4 and "--target-tls/--target-ca" in plain.stdout + plain.stderr


def _doors_run(tmp_path: Path, settings: ServerSettings, name: str) -> tuple[int, str]:
    """A server standing in for a cluster, checked with --target and --check-doors on its internal ports."""
    key = rsa_key(kid=f"{name}-idp")
    pem = write_pem(key, tmp_path / f"{name}.pem")
    with JwksServer() as idp:
        idp.publish(key)
        config = render(tmp_path / name, [idp.url()], settings)
        server = asyncio.run(ProcessBackend().start(provision(VERSION), config))
        internal = config.ports["internal-frontend"]
        doors = [f"127.0.0.1:{internal['grpcPort']}"] + (
            [f"127.0.0.1:{internal['httpPort']}"] if "httpPort" in internal else []
        )
        try:
            result = run_pytest(
                tmp_path / f"{name}-reports",
                "-q",
                "--target",
                server.address,
                "--external-signing-key",
                str(pem),
                "--external-kid",
                key.kid,
                "--check-doors",
                ",".join(doors),
                "suites/test_doors.py",
                "-k",
                "clusters_ports",
            )
        finally:
            server.stop()
    return result.returncode, result.stdout + result.stderr


def test_check_doors_warns_about_an_open_internal_frontend(tmp_path: Path) -> None:
    code, output = _doors_run(tmp_path, ServerSettings(internode_tls=False, internal_http=True), "open")
    assert code == 1, output[-3000:]
    assert "OPEN DOOR 127.0.0.1:" in output and "anonymous" in output


def test_check_doors_is_quiet_about_a_closed_cluster(tmp_path: Path) -> None:
    code, output = _doors_run(tmp_path, ServerSettings(), "closed")
    assert code == 0, output[-3000:]
    assert "OPEN DOOR" not in output
