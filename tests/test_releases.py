"""fixtures/releases.yaml and the go command it drives: toolchain per release, pinned hashes, refusals."""

from __future__ import annotations

import dataclasses
import json
import os
import textwrap
from pathlib import Path

import pytest

from harness.server import gomodule, provision
from harness.server.gomodule import MODULE, ProvisionError
from harness.server.releases import AUTO_TOOLCHAIN, Pin, load_releases, parse_releases
from harness.types import ServerVersion

V = ServerVersion.parse
RELEASES = load_releases()


def test_the_data_file_covers_every_line_from_1_20_to_1_32() -> None:
    assert sorted(RELEASES.lines, key=lambda n: tuple(map(int, n.split(".")))) == [
        f"1.{minor}" for minor in range(20, 33)
    ]
    for name, line in RELEASES.lines.items():
        listed = [*line.served, *line.pinned, *line.refused]
        assert set(line.unbuildable) <= set(line.served), f"{name}: unbuildable but not served"
        assert len(listed) == len(set(listed)), f"{name} lists a release twice"
        assert line.toolchain.startswith("go1."), name
        assert set(line.checked) <= {*line.served, *line.pinned}, f"{name}: checked but not downloadable"
        for pin in line.pinned.values():
            assert pin.sum.startswith("h1:") and pin.go_mod_sum.startswith("h1:")


@pytest.mark.parametrize(
    ("version", "toolchain"),
    [
        ("v1.20.5", RELEASES.lines["1.20"].toolchain),
        ("v1.24.1", "go1.21.13"),
        ("v1.30.4", "go1.25.14"),
        ("v1.30.9", "go1.26.11"),  # its go.mod asks for Go 1.26.10: a release override
        ("v1.32.2", "go1.26.11"),
        ("v1.33.0", AUTO_TOOLCHAIN),  # a line the data does not know: the go.mod decides
    ],
)
def test_toolchain_per_release(version: str, toolchain: str) -> None:
    assert RELEASES.toolchain(V(version)) == toolchain


def test_nearest_served_releases_around_a_refused_one() -> None:
    assert RELEASES.is_refused(V("v1.28.4")) and RELEASES.is_refused(V("v1.26.0"))
    assert RELEASES.nearest(V("v1.28.4")) == [V("v1.28.1"), V("v1.29.0")]
    assert RELEASES.nearest(V("v1.26.0")) == [V("v1.25.2"), V("v1.26.2")]
    assert RELEASES.nearest(V("v1.99.0"), [V("v1.32.2")]) == [V("v1.32.2")]
    assert V("v1.24.1") in RELEASES.buildable()  # pinned releases build too


def test_a_release_that_does_not_build_here_fails_before_any_go_command() -> None:
    with pytest.raises(ProvisionError) as err:
        gomodule.check_buildable(V("v1.31.5"), RELEASES)
    message = str(err.value)
    assert "auto-scaled-workers@v0.0.1-1.31.2" in message and "403" in message
    assert "Nearest releases that build here: v1.31.2 and v1.32.0" in message
    assert RELEASES.nearest(V("v1.31.4"), [V("v1.31.5")]) == [V("v1.31.2"), V("v1.32.0")]
    gomodule.check_buildable(V("v1.31.2"), RELEASES)


def test_a_release_listed_under_the_wrong_line_is_refused() -> None:
    with pytest.raises(ValueError, match=r"line 1\.20 lists v1\.21\.0"):
        parse_releases({"lines": {"1.20": {"go": "1.19", "toolchain": "go1.19.13", "served": ["v1.21.0"]}}})


def test_go_environment_turns_the_checksum_database_off_for_pinned_releases_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GONOSUMDB", raising=False)
    pinned = gomodule.go_environment(V("v1.24.1"), RELEASES, CGO_ENABLED="0")
    assert pinned["GONOSUMDB"] == MODULE and pinned["GOTOOLCHAIN"] == "go1.21.13"
    assert pinned["CGO_ENABLED"] == "0" and pinned["GOFLAGS"] == ""
    assert "GONOSUMDB" not in gomodule.go_environment(V("v1.24.2"), RELEASES)
    monkeypatch.setenv("GONOSUMDB", "example.com/private")
    assert gomodule.go_environment(V("v1.22.2"), RELEASES)["GONOSUMDB"] == f"example.com/private,{MODULE}"


def fake_go(
    tmp_path: Path, *, download: dict[str, str] | None = None, refuse: bool = False, list_error: str = ""
) -> str:
    """A `go` that answers the three commands provisioning asks before it builds, and records its env."""
    go = tmp_path / "go"
    info = json.dumps(download or {})
    list_error = list_error or ("go: $4: reading ...: 403 Forbidden" if refuse else "")
    listing = f'echo "{list_error}" >&2; exit 1' if list_error else "echo '{}'; exit 0"
    go.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            env > {tmp_path}/env.$1.$2.$3
            case "$1 $2 $3" in
              "list -m -versions") echo "{MODULE} v1.28.0 v1.28.1 v1.29.0 v1.32.2"; exit 0;;
              "list -m -json") {listing};;
              "mod download -json") echo '{info}'; exit 0;;
            esac
            exit 3
            """
        )
    )
    go.chmod(0o755)
    return str(go)


def test_a_refused_release_names_the_nearest_ones_that_build(tmp_path: Path) -> None:
    go = fake_go(tmp_path, refuse=True)
    with pytest.raises(ProvisionError) as err:
        gomodule.check_served(go, V("v1.28.4"), RELEASES)
    message = str(err.value)
    assert "refuses go.temporal.io/server@v1.28.4 (" in message and "403 Forbidden)" in message
    assert "Nearest releases that build here: v1.28.1 and v1.29.0" in message
    assert "--temporal-version v1.28.1 (or v1.29.0)" in message and "--temporal-binary" in message


def test_an_unknown_release_keeps_its_message(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError) as err:
        gomodule.check_served(fake_go(tmp_path, refuse=True), V("v1.99.0"), RELEASES)
    message = str(err.value)
    assert "unknown server version v1.99.0" in message and "pass --temporal-version like v1.32.2" in message


def test_a_failure_that_is_not_the_proxys_answer_is_not_called_a_refusal(tmp_path: Path) -> None:
    go = fake_go(tmp_path, list_error="go: download go1.24.13: golang.org/toolchain: connection refused")
    with pytest.raises(ProvisionError) as err:
        gomodule.check_served(go, V("v1.28.4"), RELEASES)
    assert "could not ask the Go module proxy" in str(err.value) and "refuses" not in str(err.value)


def test_pinned_hashes_are_checked_before_a_build(tmp_path: Path) -> None:
    pin = RELEASES.pin(V("v1.24.1"))
    assert pin is not None
    good = fake_go(tmp_path, download={"Sum": pin.sum, "GoModSum": pin.go_mod_sum})
    gomodule.verify_pin(good, V("v1.24.1"), RELEASES)
    assert f"GONOSUMDB={MODULE}" in (tmp_path / "env.mod.download.-json").read_text().splitlines()
    bad = fake_go(tmp_path, download={"Sum": "h1:tampered=", "GoModSum": pin.go_mod_sum})
    with pytest.raises(ProvisionError, match=r"does not match the hashes pinned.*h1:tampered="):
        gomodule.verify_pin(bad, V("v1.24.1"), RELEASES)
    gomodule.verify_pin(fake_go(tmp_path, download={"Error": "unused"}), V("v1.24.2"), RELEASES)  # not pinned


def test_a_download_error_names_the_checksum_database_fix(tmp_path: Path) -> None:
    error = f"verifying go.mod: reading https://proxy.golang.org/sumdb/sum.golang.org/lookup/{MODULE}@v1.24.9: 404"
    with pytest.raises(ProvisionError, match=r"pin its h1: hashes in fixtures/releases\.yaml"):
        gomodule.module_hashes(fake_go(tmp_path, download={"Error": error}), V("v1.24.9"), RELEASES)


def test_provision_of_a_refused_release_builds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        provision,
        "ENV",
        dataclasses.replace(provision.ENV, cache_root=tmp_path / "cache", temporal_binary=None),
    )
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    fake_go(tmp_path, refuse=True)
    with pytest.raises(ProvisionError, match=r"v1\.28\.1 and v1\.29\.0"):
        provision.provision(V("v1.28.4"))
    assert not (tmp_path / "cache").exists()
    assert "GOTOOLCHAIN=go1.24.13" in (tmp_path / "env.list.-m.-json").read_text().splitlines()


def test_pin_equality_is_by_both_hashes() -> None:
    assert Pin("h1:a", "h1:b") == Pin("h1:a", "h1:b") != Pin("h1:a", "h1:c")


def test_the_pinned_default_and_the_matrix_come_from_the_one_release_list() -> None:
    from harness import matrix_run, settings

    assert RELEASES.default == V(settings.DEFAULT_VERSION)
    assert tuple(str(v) for v in RELEASES.matrix) == matrix_run.DEFAULT_VERSIONS
    assert RELEASES.default in RELEASES.matrix and len(RELEASES.matrix) >= 24
    assert list(RELEASES.matrix) == sorted(RELEASES.matrix, key=lambda v: v.parts)


def test_a_matrix_release_that_does_not_build_here_is_refused_when_the_list_is_read() -> None:
    line = {"go": "1.23", "toolchain": "go1.23.12", "served": ["v1.31.2"], "refused": ["v1.31.5"]}
    with pytest.raises(ValueError, match=r"do not build here: v1\.31\.5"):
        parse_releases({"default": "v1.31.2", "matrix": ["v1.31.2", "v1.31.5"], "lines": {"1.31": line}})
    assert parse_releases({"default": "v1.31.2", "lines": {"1.31": line}}).default == V("v1.31.2")
