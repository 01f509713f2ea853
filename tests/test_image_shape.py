"""The official-shaped images (harness/server/images/) hold what the official ones do, and a container's
server directory is readable by the image's user and by nobody else. No Docker engine needed."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest

from harness.server.config import ServerSettings, render
from harness.server.container import _grant
from harness.server.images.build import (
    BINARY_IN_IMAGE,
    GROUP_ID,
    USER_ID,
    layout_of,
    write_rootfs,
)
from harness.server.images.identity import RunUser, resolve_user
from harness.types import ServerVersion

V1_29 = ServerVersion.parse("v1.29.2")
V1_32 = ServerVersion.parse("v1.32.2")
PASSWD = "root:x:0:0:root:/root:/bin/sh\ntemporal:x:1000:1000::/home/temporal:/bin/sh\napp:x:1234:4321::/:/bin/sh\n"
GROUP = "root:x:0:root\ntemporal:x:1000:temporal\nstaff:x:50:\n"


def _dockerfile(version: ServerVersion) -> dict[str, str]:
    lines = [line.split(" ", 1) for line in layout_of(version).dockerfile.read_text().splitlines()]
    return {parts[0]: parts[1] for parts in lines if len(parts) == 2 and parts[0].isupper()}


def test_each_layout_runs_as_user_1000_in_etc_temporal_with_the_eras_command() -> None:
    old, new = _dockerfile(V1_29), _dockerfile(V1_32)
    for instructions in (old, new):
        assert instructions["USER"] == "temporal" and instructions["WORKDIR"] == "/etc/temporal"
        assert instructions["FROM"] == "scratch"
    assert old["ENTRYPOINT"] == '["/etc/temporal/entrypoint.sh"]' and "CMD" not in old
    assert new["CMD"] == '["/usr/local/bin/temporal-server", "start"]' and "ENTRYPOINT" not in new
    assert layout_of(ServerVersion.parse("v1.20.0")).name == "1.20"
    assert layout_of(ServerVersion.parse("v1.30.0")).name == "1.30"


def _members(tmp_path: Path, version: ServerVersion, busybox: Path | None) -> dict[str, tarfile.TarInfo]:
    binary = tmp_path / "server"
    binary.write_bytes(b"\x7fELF not really")
    with tarfile.open(tmp_path / "rootfs.tar", "w"):
        pass
    write_rootfs(tmp_path / "rootfs.tar", binary, version, busybox)
    with tarfile.open(tmp_path / "rootfs.tar") as tar:
        return {m.name: m for m in tar.getmembers()}


def test_the_1_2x_image_has_a_shell_and_a_config_directory_of_its_user(tmp_path: Path) -> None:
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"static busybox")
    members = _members(tmp_path, V1_29, busybox)
    binary = members[BINARY_IN_IMAGE.lstrip("/")]
    assert (binary.uid, binary.mode) == (0, 0o755)
    config = members["etc/temporal/config"]
    assert config.isdir() and (config.uid, config.gid) == (USER_ID, GROUP_ID)
    assert members["etc/temporal"].uid == 0  # only config/ is the user's, as in the official image
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert members["tmp"].mode == 0o1777
    assert "temporal:x:1000:1000:" in _text(tmp_path, "etc/passwd")
    assert {"etc/temporal/entrypoint.sh", "etc/temporal/start-temporal.sh"} <= set(members)


def test_the_1_30_image_has_no_shell_and_nothing_its_user_may_write_but_tmp(tmp_path: Path) -> None:
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"static busybox")
    members = _members(tmp_path, V1_32, busybox)
    assert not [name for name in members if name.startswith("bin/")]
    writable = [
        name
        for name, m in members.items()
        if m.isdir() and ((m.uid == USER_ID and m.mode & 0o200) or m.mode & 0o002)
    ]
    assert sorted(writable) == ["home/temporal", "tmp"]
    assert members[BINARY_IN_IMAGE.lstrip("/")].mode == 0o755


def _text(tmp_path: Path, name: str) -> str:
    with tarfile.open(tmp_path / "rootfs.tar") as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        return handle.read().decode()


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("temporal", (1000, 1000, "temporal")),
        ("app", (1234, 4321, "app")),
        ("1234", (1234, 4321, "app")),
        ("app:staff", (1234, 50, "app")),
        ("2000:3000", (2000, 3000, "")),
        ("", (USER_ID, GROUP_ID, "temporal")),  # root by default: never run so
        ("root", (USER_ID, GROUP_ID, "temporal")),
        ("0:0", (USER_ID, GROUP_ID, "temporal")),
    ],
)
def test_the_run_user_is_the_images_own_in_numbers_never_root(
    configured: str, expected: tuple[int, int, str]
) -> None:
    user = resolve_user(configured, PASSWD, GROUP)
    assert (user.uid, user.gid, user.name) == expected
    assert user.uid != 0


def test_a_user_the_image_does_not_have_is_named() -> None:
    with pytest.raises(ValueError, match="'nobody-here' names a user its /etc/passwd does not have"):
        resolve_user("nobody-here", PASSWD, GROUP)


def _server_directory(tmp_path: Path) -> Path:
    settings = ServerSettings(frontend_mtls=True)  # the frontend's certificates and keys too
    config = render(tmp_path / "server", ["http://127.0.0.1:1/jwks.json"], settings, V1_32)
    assert (config.directory / "tls" / "internode.key").exists()
    return config.directory


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another user needs root")
def test_as_root_the_server_directory_is_given_to_the_containers_user_alone(tmp_path: Path) -> None:
    directory = _server_directory(tmp_path)
    groups = _grant(directory, RunUser(USER_ID, GROUP_ID, "temporal", "temporal"))
    assert groups == []
    for path in [directory, *directory.rglob("*")]:
        info = path.lstat()
        assert (info.st_uid, info.st_gid) == (USER_ID, GROUP_ID), path
        assert stat.S_IMODE(info.st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_as_another_user_the_directory_is_shared_through_the_harness_group_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _server_directory(tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 4242)  # neither root nor the image's user
    groups = _grant(directory, RunUser(USER_ID, GROUP_ID, "temporal", "temporal"))
    assert groups == [str(os.getegid())]
    for path in [directory, *directory.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o750 if path.is_dir() else 0o640), path
        assert not mode & 0o007, f"{path} is open to every user"
        assert path.lstat().st_gid == os.getegid()


def test_on_a_rootless_engine_the_directory_stays_the_harness_users_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rootless engine's container root is the harness's own user on the host: nothing is shared."""
    directory = _server_directory(tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 4242)
    groups = _grant(
        directory, RunUser(0, 0, "root", "temporal (rootless engine: root is 4242)"), host_uid=4242
    )
    assert groups == []
    for path in [directory, *directory.rglob("*")]:
        assert stat.S_IMODE(path.lstat().st_mode) == (0o700 if path.is_dir() else 0o600), path
