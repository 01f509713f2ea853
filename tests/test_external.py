"""--target: the suites against a cluster the harness did not start (here: a server this test starts with
a JWKS of its own, standing in for a staging cluster behind an IdP). The harness signs with the key the
cluster trusts (--external-signing-key/--external-kid); tests that must control the JWKS skip with a reason."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from harness.jwks import JwksServer
from harness.keys import rsa_key
from harness.server.config import ServerSettings, render
from harness.server.process import ProcessBackend
from harness.server.provision import DEFAULT_VERSION, provision

ROOT = Path(__file__).resolve().parent.parent


def test_external_target_with_the_clusters_signing_key(tmp_path: Path) -> None:
    key = rsa_key(kid="staging-idp-key")
    pem = tmp_path / "idp.pem"  # the test's own temp dir: a stand-in for the team's IdP key
    pem.write_bytes(
        key.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with JwksServer() as idp:
        idp.publish(key)
        config = render(
            Path(tempfile.mkdtemp(prefix="authz-server-external-")), [idp.url()], ServerSettings()
        )
        server = asyncio.run(ProcessBackend().start(provision(DEFAULT_VERSION), config))
        try:
            reports = tmp_path / "reports"
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "--reports-dir", str(reports),
                 "--target", server.address, "--external-signing-key", str(pem), "--external-kid", key.kid,
                 "suites/test_smoke.py", "suites/test_matrix.py", "suites/test_rotation.py", "-k",
                 "not test_cell or NamespaceReader"],
                cwd=ROOT, env={**os.environ, "AUTHZ_RUN_TAG": uuid.uuid4().hex[:10]},
                capture_output=True, text=True, timeout=600,
            )  # fmt: skip
        finally:
            server.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "key source is not ours" in output  # the rotation test skipped, saying why
    report = json.loads((reports / "conformance.json").read_text())
    assert report["server"]["backend"] == "external"
    assert report["server"]["controls_jwks"] is False
    assert report["summary"]["PASS"] > 100 and report["summary"]["FAIL"] == 0


def test_external_target_trusting_the_harness_jwks(tmp_path: Path) -> None:
    """The other way to gate a cluster: configure it to trust the harness's JWKS URL (a fixed port)."""
    from harness.server.ports import free_ports

    port = free_ports(1)[0]
    url = f"http://127.0.0.1:{port}/jwks.json"
    config = render(
        Path(tempfile.mkdtemp(prefix="authz-server-external-")), [url], ServerSettings(refresh_interval="1s")
    )
    server = asyncio.run(ProcessBackend().start(provision(DEFAULT_VERSION), config))
    try:
        reports = tmp_path / "reports"
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--reports-dir", str(reports),
             "--target", server.address, "--jwks-port", str(port), "suites/test_smoke.py"],
            cwd=ROOT, env={**os.environ, "AUTHZ_RUN_TAG": uuid.uuid4().hex[:10]},
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:
        server.stop()
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    report = json.loads((reports / "conformance.json").read_text())
    assert report["server"]["backend"] == "external" and report["server"]["controls_jwks"] is True
    assert report["summary"]["FAIL"] == 0 and report["summary"]["PASS"] >= 8
