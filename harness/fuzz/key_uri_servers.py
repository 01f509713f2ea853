"""The key-source-uris class's live servers: one per set of keySourceURIs spellings (started on first use,
then reused), its "{dir}" a directory the fuzzer owns holding a key set file of a key of its own, its "{0}"
the pooled JWKS fixture's URL. What the server holds is the model's (keyset.initial_keys over the
spellings, the file and what the fixture answers each request), never what the server did."""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from harness.fuzz.servers import FuzzServers
from harness.fuzz.strategies.key_uris import FILE_NAME, filled
from harness.jwks.fixture import DEFAULT_PATH, JwksServer
from harness.jwks.timeline import StaticKeys
from harness.model import key_uris, keyset
from harness.model.rules import rules_for
from harness.server.config import ServerSettings
from harness.server.target import Target
from harness.tokens.keys import SigningKey, rsa_key

FILE_KID = "key-uris-file"


@dataclass
class KeyFile:
    """The key set file "{dir}/keys.json": one RSA key no other source publishes."""

    directory: Path
    key: SigningKey
    body: bytes


_FILES: dict[int, KeyFile] = {}


def fixture_answer(jwks: JwksServer, request: key_uris.Opened) -> keyset.SourceAnswer:
    """What the JWKS fixture (http.server) answers the request http.Get makes: its request line split on
    whitespace (a target with a space inside is three words no more: 400, no key set; a trailing one is
    dropped), the path as sent (not unescaped), the query cut off; an unknown path is a 404 whose JSON body
    decodes as a key set with no keys."""
    if request.host != f"{jwks.host}:{jwks.port}":  # the spellings keep "{0}"'s host as written
        return keyset.SourceAnswer(None)
    words = f"GET {request.request_target} HTTP/1.1".split()
    if len(words) != 3:
        return keyset.SourceAnswer(None)  # "Bad request syntax": an HTML page, no key set
    status, body = jwks.answer_to(urlsplit(words[1]).path)
    return keyset.SourceAnswer(body, status)


def key_file(servers: FuzzServers) -> KeyFile:
    """The fuzzer's key set file (one per run's servers), removed with them."""
    if id(servers) not in _FILES:
        directory = Path(tempfile.mkdtemp(prefix="authz-key-uris-"))
        directory.chmod(0o755)  # a containerised server runs as another user (1000) and reads it mounted
        servers._stack.callback(shutil.rmtree, directory, True)
        key = rsa_key(kid=FILE_KID)
        body = json.dumps({"keys": [key.public_jwk()]}).encode()
        (directory / FILE_NAME).write_bytes(body)
        _FILES[id(servers)] = KeyFile(directory, key, body)
    return _FILES[id(servers)]


def spelled(servers: FuzzServers, uris: Sequence[str]) -> list[str]:
    """The spellings with "{dir}" and "{0}" filled for this run's live servers."""
    assert servers.pool.jwks is not None
    directory = str(key_file(servers).directory)
    return [filled(u, directory, servers.pool.jwks.url(DEFAULT_PATH)) for u in uris]


async def key_uris_server(servers: FuzzServers, uris: Sequence[str]) -> tuple[Target, KeyFile]:
    """A server of these keySourceURIs, its keys the model's: the initial fetch's (every later refresh
    asks the same sources, which answer the same)."""
    jwks, file = servers.pool.jwks, key_file(servers)
    assert jwks is not None
    written = spelled(servers, uris)
    # The directory is mounted at its own path: a containerised server reads the file where the URIs say
    # (seen in CI: on the container backend every file URI failed, and with it the whole round).
    settings = ServerSettings(key_source_uris=written, system_workers=False, mounts=(str(file.directory),))
    target = await servers.config_server("key-uris:" + json.dumps(written), settings)
    rules = rules_for(target.version)
    files = {str(file.directory / FILE_NAME): file.body}
    ring, _ = keyset.initial_keys(
        written, rules.file_key_sources, files, lambda r: fixture_answer(jwks, r), rules.jose
    )
    return dataclasses.replace(target, keys=StaticKeys(tuple(ring.keys))), file
