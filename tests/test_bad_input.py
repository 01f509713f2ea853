"""Bad input gets one clear error: one line naming the fix and exit status 4, never a traceback or an error
in every test. The cluster's signing key (--external-signing-key), a taken --jwks-port, a gate given a
file of the wrong kind. The plugin's paths run on pytester with the cluster's attach faked (no server)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from harness import cli
from harness.errors import HarnessConfigError
from harness.jwks.fixture import JwksServer
from harness.report.gate import packaged_baseline, packaged_baseline_versions
from harness.server.backend import RunningServer
from harness.server.external import ExternalBackend
from harness.server.pool import _load_signing_key
from harness.server.provision import ProvisionedBinary
from harness.settings import DEFAULT_VERSION
from harness.tokens.external_key import load_external_key
from harness.tokens.keys import SigningKey, ec_key, rsa_key
from harness.types import ServerVersion
from tests.report_data import rich_report

pytest_plugins = ["pytester"]

VERSION = ServerVersion.parse(DEFAULT_VERSION)


def pem(path: Path, private: object, password: bytes | None = None) -> Path:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    assert hasattr(private, "private_bytes")
    path.write_bytes(
        private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


# -- the cluster's signing key ----------------------------------------------------------------------------


def test_an_encrypted_key_names_the_command_that_decrypts_it(tmp_path: Path) -> None:
    path = pem(tmp_path / "key.pem", rsa_key().private, password=b"secret")
    with pytest.raises(HarnessConfigError) as raised:
        _load_signing_key(path, "k")
    assert str(raised.value) == (
        f"--external-signing-key {path}: the key is encrypted (a passphrase protects it): give the harness a "
        f"decrypted copy, e.g. `openssl pkey -in {path} -out plain.pem`, kept in a CI secret"
    )


@pytest.mark.parametrize(
    ("key", "names"),
    [
        (ec.generate_private_key(ec.SECP384R1()), "P-384 keys"),
        (ec.generate_private_key(ec.SECP521R1()), "P-521 keys"),
        (ec.generate_private_key(ec.SECP256K1()), "secp256k1 keys"),
        (ed25519.Ed25519PrivateKey.generate(), "Ed25519 keys"),
    ],
    ids=["p384", "p521", "secp256k1", "ed25519"],
)
def test_a_key_the_server_cannot_verify_is_refused_by_its_curve(
    tmp_path: Path, key: object, names: str
) -> None:
    path = pem(tmp_path / "key.pem", key)
    with pytest.raises(HarnessConfigError) as raised:
        load_external_key(path, "k")
    assert str(raised.value) == (
        f"--external-signing-key {path}: {names}: the server verifies only RS256 and ES256 (P-256); "
        "give an RSA or P-256 key"
    )


def test_a_file_that_is_no_key_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text("not a key\n")
    with pytest.raises(HarnessConfigError, match=r"not a PEM private key the harness can read"):
        load_external_key(path, "k")
    with pytest.raises(HarnessConfigError, match=r"cannot read it: No such file or directory"):
        load_external_key(tmp_path / "missing.pem", "k")


def test_keys_are_labelled_by_what_they_are(tmp_path: Path) -> None:
    rsa = load_external_key(pem(tmp_path / "rsa.pem", rsa_key().private), "r")
    p256 = load_external_key(pem(tmp_path / "ec.pem", ec_key().private), "e")
    assert (rsa.alg, p256.alg, p256.curve) == ("RS256", "ES256", "P-256")
    # A P-384 key is never ES256: generated ones are ES384, and the JWK says so
    p384 = ec_key(curve="P-384")
    assert (p384.alg, p384.public_jwk()["crv"], p384.public_jwk()["alg"]) == ("ES384", "P-384", "ES384")
    other = SigningKey("k", "ES256K", ec.generate_private_key(ec.SECP256K1()))
    assert other.curve == "secp256k1"  # named, not a KeyError


# -- the plugin's paths ---------------------------------------------------------------------------------

USES_TARGET = "def test_needs_the_server(target):\n    pass\n"


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A generated suite whose --target 'cluster' answers the attach (no server, no network)."""

    async def attach(self: ExternalBackend) -> RunningServer:
        return RunningServer(
            address=self.target.address,
            version=VERSION,
            backend="external",
            start_seconds=0.0,
            logs=lambda: "",
            stop=lambda: None,
        )

    monkeypatch.setattr(ExternalBackend, "attach", attach)
    pytester.makeconftest('pytest_plugins = ["harness.pytest_plugin"]')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = session\n")
    pytester.makepyfile(test_suite=USES_TARGET)
    return pytester


def exit_line(result: pytest.RunResult) -> str:
    """The one line pytest.exit printed (`!!! ... Exit: temporal-authz: ... !!!`)."""
    lines = [line for line in result.outlines if "temporal-authz: " in line]
    assert len(lines) == 1, result.outlines
    return lines[0].split("temporal-authz: ", 1)[1].rstrip(" !")


def test_the_plugin_stops_at_an_encrypted_cluster_key_with_exit_4(
    suite: pytest.Pytester, tmp_path: Path
) -> None:
    key = pem(tmp_path / "enc.pem", rsa_key().private, password=b"secret")
    result = suite.runpytest(
        "--target", "127.0.0.1:7233", "--external-signing-key", str(key), "--external-kid", "k",
        "--reports-dir", "out", "-p", "no:cacheprovider",
    )  # fmt: skip
    assert result.ret == 4
    assert exit_line(result).startswith(f"--external-signing-key {key}: the key is encrypted")
    assert "Traceback" not in result.stdout.str()


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_a_taken_jwks_port_is_one_error(taken_port: int) -> None:
    with pytest.raises(HarnessConfigError) as raised:
        JwksServer(port=taken_port).start()
    assert str(raised.value) == (
        f"--jwks-port {taken_port} is taken by another process: free it or pick another port "
        f"(the cluster must trust http://127.0.0.1:{taken_port}/jwks.json)"
    )
    with JwksServer() as ephemeral:  # port 0 is never "taken"
        assert ephemeral.listening


def test_the_plugin_stops_at_a_taken_jwks_port_for_an_external_cluster(
    suite: pytest.Pytester, taken_port: int
) -> None:
    """--target without a signing key: the cluster trusts the harness JWKS on --jwks-port."""
    result = suite.runpytest(
        "--target", "127.0.0.1:7233", "--jwks-port", str(taken_port), "--reports-dir", "out",
        "-p", "no:cacheprovider",
    )  # fmt: skip
    assert result.ret == 4
    assert exit_line(result).startswith(f"--jwks-port {taken_port} is taken by another process")
    result.assert_outcomes()  # no test ran, none errored


def test_the_plugin_stops_at_a_taken_jwks_port_for_its_own_servers(
    suite: pytest.Pytester, taken_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The harness's own servers: the fixture is bound in ServerPool.open() (provisioning faked here)."""
    binary = ProvisionedBinary(VERSION, tmp_path / "temporal-server", "explicit")
    monkeypatch.setattr("harness.server.provision.provision", lambda *args: binary)
    result = suite.runpytest(
        "--jwks-port",
        str(taken_port),
        "--backend",
        "process",
        "--reports-dir",
        "out",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == 4
    assert exit_line(result).startswith(f"--jwks-port {taken_port} is taken by another process")
    result.assert_outcomes()


# -- the gate -------------------------------------------------------------------------------------------


def test_the_gate_refuses_a_baseline_given_as_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    baseline = packaged_baseline(packaged_baseline_versions()[-1])
    assert cli.main(["gate", "--report", str(baseline)]) == 4
    assert capsys.readouterr().err == (
        f"error: the report {baseline} is a baseline (decisions only, as fixtures/baselines/ and `snapshot` "
        "write them), not a run's conformance.json: pass it as --baseline, and a run's conformance.json as "
        "the report\n"
    )


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ({"matrix_version": 1, "runs": []}, "a version matrix (matrix-merge's matrix.json)"),
        ({"keys": []}, "a JWKS key set"),
        ({"a": 1}, "a JSON object with a"),
        ([1, 2], "a JSON array"),
    ],
    ids=["matrix", "jwks", "object", "array"],
)
def test_the_gate_names_the_kind_of_a_wrong_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: object, kind: str
) -> None:
    report = tmp_path / "conformance.json"
    report.write_text(json.dumps(rich_report()))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(document))
    assert cli.main(["gate", "--report", str(report), "--baseline", str(wrong)]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and f"{wrong} is {kind}, not " in err
