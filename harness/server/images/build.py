"""Build an image shaped like the official `temporalio/server:<version>` around a server binary.

Where no registry can be reached, this is the image the container backend runs (tagged
`temporal-authz-conformance/server:<version>`), and the harness's own tests tag it as the official image
would be tagged. Each layout's Dockerfile is beside this module; the files the image holds go in as one
tar (one layer: the vfs storage driver CI uses copies every layer whole), with the owners and modes the
official image gives them.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.model.rules import rules_for
from harness.types import ServerVersion

HERE = Path(__file__).resolve().parent
BINARY_IN_IMAGE = "/usr/local/bin/temporal-server"  # where every era's official image keeps it
USER_ID = GROUP_ID = 1000  # `addgroup -g 1000 temporal && adduser -u 1000 -G temporal` in every era
# Debian's busybox-static: a shell for the 1.20-1.29 layout, whose official image has bash.
STATIC_BUSYBOX = Path("/bin/busybox")
SHELL_APPLETS = ("sh", "awk", "hostname", "tr", "echo")
LABEL_PREFIX = "temporal-authz-conformance"


@dataclass(frozen=True)
class Layout:
    name: str  # "1.20" | "1.30": the first release of the layout
    dockerfile: Path
    shell: bool  # whether the official image of the layout has a shell


def layout_of(version: ServerVersion) -> Layout:
    name = "1.30" if rules_for(version).image_from_server_repository else "1.20"
    return Layout(name, HERE / f"server-{name}.Dockerfile", shell=name == "1.20")


def binary_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def labels(version: ServerVersion, binary_sha256: str, shell: bool, source: str) -> dict[str, str]:
    return {
        f"{LABEL_PREFIX}.version": str(version),
        f"{LABEL_PREFIX}.layout": layout_of(version).name,
        f"{LABEL_PREFIX}.binary-sha256": binary_sha256,
        f"{LABEL_PREFIX}.binary-source": source,  # "release", or "explicit": a binary given by path
        f"{LABEL_PREFIX}.shell": "busybox" if shell else "none",
    }


def _add(tar: tarfile.TarFile, name: str, *, mode: int, data: bytes | None = None, owner: int = 0,
         directory: bool = False, link: str = "") -> None:  # fmt: skip
    info = tarfile.TarInfo(name)
    info.mode, info.uid, info.gid = mode, owner, owner
    info.uname = info.gname = "temporal" if owner else "root"
    if directory:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif link:
        info.type, info.linkname = tarfile.SYMTYPE, link
        tar.addfile(info)
    else:
        payload = data or b""
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def write_rootfs(target: Path, binary: Path, version: ServerVersion, busybox: Path | None) -> bool:
    """rootfs.tar for the release's layout; returns whether it holds a shell."""
    layout = layout_of(version)
    shell = layout.shell and busybox is not None and busybox.is_file()
    with tarfile.open(target, "w") as tar:
        for directory, mode in (("etc", 0o755), ("home", 0o755), ("usr", 0o755), ("usr/local", 0o755),
                                ("usr/local/bin", 0o755), ("etc/temporal", 0o755)):  # fmt: skip
            _add(tar, directory, mode=mode, directory=True)
        _add(tar, "tmp", mode=0o1777, directory=True)
        _add(tar, "home/temporal", mode=0o755, directory=True, owner=USER_ID)
        _add(tar, "etc/passwd", mode=0o644, data=(
            "root:x:0:0:root:/root:/sbin/nologin\n"
            f"temporal:x:{USER_ID}:{GROUP_ID}::/home/temporal:/sbin/nologin\n"
        ).encode())  # fmt: skip
        _add(tar, "etc/group", mode=0o644, data=f"root:x:0:root\ntemporal:x:{GROUP_ID}:temporal\n".encode())
        info = tar.gettarinfo(str(binary), arcname=BINARY_IN_IMAGE.lstrip("/"))
        info.mode, info.uid, info.gid, info.uname, info.gname = 0o755, 0, 0, "root", "root"
        with open(binary, "rb") as handle:
            tar.addfile(info, handle)
        if layout.name == "1.20":
            _add(tar, "etc/temporal/config", mode=0o755, directory=True, owner=USER_ID)
            _add(tar, "etc/temporal/config/dynamicconfig", mode=0o755, directory=True, owner=USER_ID)
            _add(tar, "etc/temporal/config/dynamicconfig/docker.yaml", mode=0o644, owner=USER_ID)
            for script in ("entrypoint", "start-temporal"):
                text = (HERE / f"{script}-1.20.sh").read_bytes()
                _add(tar, f"etc/temporal/{script}.sh", mode=0o755, data=text)
        if shell:
            assert busybox is not None
            _add(tar, "bin", mode=0o755, directory=True)
            _add(tar, "bin/busybox", mode=0o755, data=busybox.read_bytes())
            for applet in SHELL_APPLETS:
                _add(tar, f"bin/{applet}", mode=0o777, link="busybox")
    return shell


def build_image(
    client: Any,
    binary: Path,
    version: ServerVersion,
    tag: str,
    *,
    busybox: Path | None = STATIC_BUSYBOX,
    extra_tags: tuple[str, ...] = (),
    source: str = "release",
) -> str:
    """Build the release's official-shaped image around `binary`, tagged `tag` (and `extra_tags`); returns
    the image ID. `client` is a docker.DockerClient."""
    layout = layout_of(version)
    with tempfile.TemporaryDirectory(prefix="authz-image-") as context:
        ctx = Path(context)
        shutil.copy(layout.dockerfile, ctx / "Dockerfile")
        shell = write_rootfs(ctx / "rootfs.tar", binary, version, busybox)
        image, _ = client.images.build(
            path=str(ctx),
            tag=tag,
            labels=labels(version, binary_digest(binary), shell, source),
            rm=True,
            forcerm=True,
        )
    for extra in extra_tags:
        repository, _, name = extra.rpartition(":")
        image.tag(repository, name)
    return str(image.id)


def label_of(attrs: Mapping[str, Any], name: str) -> str:
    """A label of an image's inspect data ("" where it has none)."""
    found = ((attrs.get("Config") or {}).get("Labels") or {}).get(f"{LABEL_PREFIX}.{name}")
    return str(found or "")
