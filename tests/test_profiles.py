"""Token profiles without a server: the schema, loading with line-numbered errors, API groups derived from
the tables, how entries are read, fix hints from the model, and each ready profile's exact differences
(with the model standing in for the server: tests/test_profiles_live.py proves the sample live)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.api_tables import available_versions, load_table
from harness.cli import main
from harness.model.rules import AuthConfig
from harness.profiles.dry_run import dry_run
from harness.profiles.formats import SPLIT, from_regex_literal, permission_format
from harness.profiles.groups import GROUPS, GROUPS_BY_NAME, UnknownTerm, resolve
from harness.profiles.hints import allow_fix, least_grant
from harness.profiles.loader import SCHEMA_PATH, ProfileError, load_profile, schema
from harness.profiles.oracle import ModelContext
from harness.profiles.reading import read_claims
from harness.types import Access, CallTarget, Scope, ServerVersion

ROOT = Path(__file__).resolve().parent.parent
READY = sorted((ROOT / "fixtures" / "profiles").glob("*.yaml"))
TABLE = load_table("v1.32.2")
WF = "/temporal.api.workflowservice.v1.WorkflowService/"
REGEX = r"^Temporal\.(?P<namespace>[\w-]+)\.(?P<role>\w+)$"


def ctx(**config: Any) -> ModelContext:
    return ModelContext.of("v1.32.2", TABLE, AuthConfig(**config))


def write(tmp_path: Path, text: str, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- schema and loading ----------------------------------------------------------------------------


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


@pytest.mark.parametrize("path", READY, ids=lambda p: p.stem)
def test_every_ready_profile_loads(path: Path) -> None:
    profile = load_profile(path)
    assert profile.principals and all(p.rules for p in profile.principals)
    jsonschema.validate(__import__("yaml").safe_load(path.read_text()), schema())


ONE = "principals: [{name: w, claims: {sub: w}, allow: [{groups: [read], namespaces: [p]}]}]\n"
GOOD_HEAD = "name: t\nnamespaces: [payments]\nprincipals:\n  - name: w\n    claims: {sub: w}\n"
BAD = [
    # (document, line, the error names)
    (
        GOOD_HEAD + "    allow:\n      - groups: [poll, pol]\n",
        7,
        "principals[0] (w).allow[0].groups[1]: unknown group or method `pol`; did you mean `poll`",
    ),
    (
        GOOD_HEAD + "    alow:\n      - groups: [poll]\n",
        6,
        "principals[0] (w).alow: unknown field `alow`; did you mean `allow`?",
    ),
    (
        GOOD_HEAD + "    allow:\n      - groups: [PollWorkflowTaskQueu]\n",
        7,
        "did you mean `PollWorkflowTaskQueue`",
    ),
    (GOOD_HEAD + "    allow:\n      - groups: [GetSystemInfo]\n", 7, "it is exempt: always allowed"),
    (
        "name: t\nnamespaces: [p]\nprincipals:\n  - name: w\n    claims: {sub: w, exp: 1}\n    allow: [{groups: [read]}]\n",
        5,
        "principals[0] (w).claims.exp: set at minting",
    ),
    (
        "name: t\nserver:\n  authorization:\n    permissionsClaimName: 5\nprincipals: []\n",
        4,
        "server.authorization.permissionsClaimName: 5 is not of type 'string'",
    ),
    (
        "name: t\nprincipals:\n  - name: w\n    claims: {sub: w}\n    allow: [{groups: [poll]}]\n",
        5,
        "names no namespaces, and the profile has no `namespaces` list",
    ),
    (
        "name: t\nprincipals:\n  - name: w\n    claims: {sub: w}\n",
        3,
        "has no allow or deny rules: nothing to check",
    ),
    (
        GOOD_HEAD
        + "    allow: [{groups: [poll]}]\n  - name: w\n    claims: {sub: w}\n    allow: [{groups: [poll]}]\n",
        7,
        "principals[1] (w).name: `w` is named twice",
    ),
    (
        GOOD_HEAD
        + "    allow: [{groups: [poll]}]\nexpect_differences:\n  - {principal: ww, intent: poll, server: denies, because: x}\n",
        8,
        "no principal `ww`; did you mean `w`?",
    ),
    (
        GOOD_HEAD
        + "    allow: [{groups: [poll]}]\nexpect_differences:\n  - {principal: w, intent: pol, server: denies, because: x}\n",
        8,
        "`w` has no allow rule for `pol`; did you mean `poll`?",
    ),
    (
        GOOD_HEAD
        + "    allow: [{groups: [poll]}]\nexpect_differences:\n  - {principal: w, intent: poll, server: allows, because: x}\n",
        8,
        "`w` has no deny rule for `poll`",
    ),
    (
        GOOD_HEAD
        + "    allow: [{groups: [poll]}]\nexpect_differences:\n  - {principal: w, intent: poll, namespace: orders, server: denies, because: x}\n",
        8,
        "covers payments, not `orders`",
    ),
    (
        "name: t\nserver:\n  target: staging:7233\n  signing_key: nope.pem\n  kid: k\n" + ONE,
        4,
        "server.signing_key: no such file",
    ),
    (
        "name: t\nserver:\n  target: staging:7233\n" + ONE,
        2,
        "server: 'kid' is a dependency of 'target' (and 1 more)",
    ),
    ("name: t\nserver: {version: v0.0.1}\n" + ONE, 2, "server.version: no API table for server v0.0.1"),
    ("name: t\nprincipals:\n  - name: [\n", 4, "not valid YAML"),
    ("- just a list\n", 1, "must be a YAML mapping"),
]


@pytest.mark.parametrize(("text", "line", "names"), BAD, ids=[b[2][:40] for b in BAD])
def test_a_bad_profile_gets_one_error_naming_file_line_and_field(
    tmp_path: Path, text: str, line: int, names: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as raised:
        load_profile(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert names in message, message


def test_the_command_prints_the_error_and_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD_HEAD + "    allow:\n      - groups: [pol]\n")
    assert main(["profile", str(path), "--dry-run"]) == 4
    assert (
        capsys.readouterr().err
        == f"error: {path}:7: principals[0] (w).allow[0].groups[0]: unknown group or method `pol`; did you mean `poll`?\n"
    )


# -- groups ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", available_versions())
def test_groups_are_derived_from_each_versions_table(version: str) -> None:
    table = load_table(version)
    for group in GROUPS:
        calls = group.calls(table)
        applies = group.since is None or group.since.available(version)
        assert bool(calls) == applies, f"{group.name} on {version}"
        assert all(c.name != "GetSystemInfo" for c in calls), "exempt calls belong to no group"
        chosen = group.representative(calls)
        assert (chosen in calls) if calls else chosen is None, f"{group.name}'s probe on {version}"
        if ServerVersion.parse(version) >= (1, 27, 0) and group.name != "all":
            assert chosen is not None and chosen.name == group.probe, f"{group.name} on {version}"
    names = {g.name: {c.name for c in g.calls(table)} for g in GROUPS}
    every = {m for s in ("temporal.api.workflowservice.v1.WorkflowService",) for m in table.services[s]}
    assert {m for m in every if m.startswith("Poll") and m.endswith("TaskQueue")} <= names["poll"]
    assert names["namespace-admin"] == {
        c.name
        for c in GROUPS_BY_NAME["all"].calls(table)
        if (c.rule.scope, c.rule.access) == (Scope.NAMESPACE, Access.ADMIN)
    }


def test_a_method_added_in_a_release_joins_its_groups() -> None:
    """CountSchedules arrived in 1.30.2: the schedules group has it there, with no list to update."""
    assert "CountSchedules" not in {c.name for c in GROUPS_BY_NAME["schedules"].calls(load_table("v1.29.7"))}
    assert "CountSchedules" in {c.name for c in GROUPS_BY_NAME["schedules"].calls(load_table("v1.30.6"))}


def test_terms_are_groups_or_methods_and_unknown_ones_name_the_nearest() -> None:
    assert [c.name for c in resolve("OperatorService/ListSearchAttributes", TABLE)] == [
        "ListSearchAttributes"
    ]
    assert [c.name for c in resolve("QueryWorkflow", TABLE)] == ["QueryWorkflow"]
    with pytest.raises(UnknownTerm, match=r"did you mean `terminate`"):
        resolve("terminte", TABLE)
    with pytest.raises(UnknownTerm, match=r"`StartWorkflowExecution`"):
        resolve("StartWorkflowExecutio", TABLE)


# -- how entries are read -------------------------------------------------------------------------------


def test_each_entry_says_what_it_grants_and_why_not() -> None:
    reading = read_claims(
        {"sub": "s", "permissions": ["default:worker", "system:admin", "ns : read", "Default:write", 3, "x"]},
        ctx(),
        ["default"],
    )
    described = [e.describe() for e in reading.entries]
    assert described == [
        "`default:worker` grants nothing (worker=1 is below reader=2)",
        "`system:admin` grants admin in namespace `system` (a namespace named `system`, not the system scope: that is `temporal-system`, matched exactly)",
        "`ns : read` grants nothing (` read` is not one of read, write, admin, worker; no trimming: the namespace is `ns `)",
        "`Default:write` grants writer in namespace `Default` (namespaces are case-sensitive: `Default` is not `default`)",
        "`3` is ignored: a JSON number, not a string: skipped",
        "`x` is ignored: not `namespace:role` (one `:` needed)",
    ]


def test_permissions_the_server_never_reads_are_named() -> None:
    nested = {"sub": "s", "resource_access": {"temporal": {"roles": ["orders:write"]}}}
    reading = read_claims(nested, ctx())
    assert reading.shape == "absent"
    assert reading.notes() == [
        "the token has no top-level `permissions` claim",
        "`orders:write` sits nested at `resource_access.temporal.roles`, which the server never reads (nested claims are out of scope): map them to a top-level `permissions` claim",
    ]
    mapped = read_claims({**nested, "permissions": ["orders:write"]}, ctx())
    assert mapped.unread == ()  # also in the claim the server reads: nothing lost
    elsewhere = read_claims({"sub": "s", "roles": ["orders:write"]}, ctx())
    assert "sits in `roles`, but the server reads `permissions`" in elsewhere.notes()[-1]
    regex = read_claims(
        {"sub": "s", "roles": ["Everyone", "Temporal.orders.Read"]},
        ctx(permissions_claim_name="roles", permissions_regex=REGEX),
    )
    assert [e.describe() for e in regex.entries] == [
        "`Everyone` is ignored: it does not match permissionsRegex",
        "`Temporal.orders.Read` grants reader in namespace `orders`",
    ]


# -- permission formats and fix hints ------------------------------------------------------------------


def test_the_permission_format_is_learned_declared_or_read_off_the_regex() -> None:
    entra = ctx(permissions_claim_name="roles", permissions_regex=REGEX)
    learned = permission_format(entra, None, ["Everyone", "Temporal.payments.Read"])
    assert (learned.template, learned.role_case) == ("Temporal.{namespace}.{role}", "title")
    assert permission_format(entra, None, []).origin.startswith("read off permissionsRegex")
    assert permission_format(entra, "Temporal.{namespace}.{role}", []).origin.startswith("declared")
    assert permission_format(ctx(), None, ["whatever"]) == SPLIT
    assert from_regex_literal(r"^temporal-(?P<namespace>[a-z-]+)-(?P<role>read|write)$") is not None
    assert (
        from_regex_literal(r"^(?P<namespace>\w+)[.:](?P<role>\w+)$") is None
    )  # not a literal around the groups
    # A regex the server ignores (no `role` group) leaves the `ns:role` split in effect.
    assert permission_format(ctx(permissions_regex=r"(?P<namespace>\w+)"), None, []) == SPLIT


@pytest.mark.parametrize(
    ("entries", "method", "namespace", "config", "least"),
    [
        (["payments:worker"], "PollWorkflowTaskQueue", "payments", {}, "payments:write"),
        (["payments:read"], "DescribeNamespace", "payments", {}, "payments:read"),
        (["payments:write"], "UpdateNamespace", "payments", {}, "payments:admin"),
        (["payments:admin"], "ListNamespaces", "", {}, "temporal-system:read"),
        (["system:admin"], "GetClusterInfo", "", {}, "temporal-system:read"),
        (
            ["Temporal.payments.Read"],
            "StartWorkflowExecution",
            "payments",
            {"permissions_claim_name": "roles", "permissions_regex": REGEX},
            "Temporal.payments.Write",
        ),
    ],
)
def test_the_least_grant_is_the_models_first_passing_permission(
    entries: list[str], method: str, namespace: str, config: dict[str, str], least: str
) -> None:
    model = ctx(**config)
    payload = {"sub": "s", model.claim_name: entries}
    fmt = permission_format(model, None, entries)
    assert least_grant(payload, CallTarget(WF + method, namespace), fmt, model) == least


def test_an_unintended_allow_names_its_entry_and_what_removing_it_costs() -> None:
    from harness.profiles.hints import Intended

    model = ctx()
    poll = [Intended(CallTarget(WF + "PollWorkflowTaskQueue", "payments"), "poll in payments")]
    terminate = CallTarget(WF + "TerminateWorkflowExecution", "payments")
    assert allow_fix({"sub": "s", "permissions": ["payments:write"]}, terminate, SPLIT, model, poll) == (
        "no permission allows poll in payments without it: the server's roles cannot separate them "
        "(remove `payments:write` only if you can give those up)"
    )
    register = CallTarget(WF + "RegisterNamespace", "payments")
    assert allow_fix({"sub": "s", "permissions": ["payments:admin"]}, register, SPLIT, model, poll) == (
        "replace `payments:admin` with `payments:write`"
    )
    assert allow_fix(
        {"sub": "s", "permissions": ["payments:admin", "payments:write"]}, register, SPLIT, model, poll
    ) == ("remove `payments:admin`")


# -- whole profiles, the model standing in for the server -----------------------------------------------

READY_DIFFERENCES = {
    "samples-go-serverjwtauth": [
        "sample-admin-before-2024: intended to administer the namespace in default; the server DENIES RegisterNamespace, AddSearchAttributes, DeleteNamespace and 3 more: no entry grants a role in `default`; `system:admin` grants admin in namespace `system` (a namespace named `system`, not the system scope: that is `temporal-system`, matched exactly); add `default:admin`",
        "sample-admin-before-2024: intended to read cluster info; the server DENIES ListNamespaces, GetClusterInfo, GetSearchAttributes: no entry grants a system role (`temporal-system:...`); `system:admin` grants admin in namespace `system` (a namespace named `system`, not the system scope: that is `temporal-system`, matched exactly); add `temporal-system:read`",
    ],
    "keycloak-client-scope": [
        "orders-worker-unmapped: intended to poll in orders; the server DENIES PollWorkflowTaskQueue, PollActivityTaskQueue, PollNexusTaskQueue and 15 more: the token has no top-level `permissions` claim; `orders:worker`, `orders:write` sit nested at `resource_access.temporal-worker.roles`, which the server never reads (nested claims are out of scope); add `orders:write` to a top-level `permissions` array claim",
        "guide-system-admin: intended to administer the namespace in orders; the server DENIES RegisterNamespace, AddSearchAttributes, DeleteNamespace and 3 more: no entry grants a role in `orders`; `system:admin` grants admin in namespace `system` (a namespace named `system`, not the system scope: that is `temporal-system`, matched exactly); add `orders:admin`",
        "guide-system-admin: intended to read cluster info; the server DENIES ListNamespaces, GetClusterInfo, GetSearchAttributes: no entry grants a system role (`temporal-system:...`); `system:admin` grants admin in namespace `system` (a namespace named `system`, not the system scope: that is `temporal-system`, matched exactly); add `temporal-system:read`",
        "guide-analytics-worker: intended to poll in analytics; the server DENIES PollWorkflowTaskQueue, PollActivityTaskQueue, PollNexusTaskQueue and 15 more: `analytics:worker` grants nothing (worker=1 is below reader=2); add `analytics:write`",
    ],
    "entra-id-app-roles": [],
    "okta-groups": [
        "ci-deployer: intended to start executions in checkout; the server DENIES StartWorkflowExecution, ExecuteMultiOperation, SignalWithStartWorkflowExecution and 2 more: the token has no top-level `groups` claim; add `temporal-checkout-write` to a top-level `groups` array claim",
    ],
}


@pytest.mark.parametrize("path", READY, ids=lambda p: p.stem)
def test_each_ready_profile_differs_exactly_where_it_says(path: Path) -> None:
    run = dry_run(load_profile(path))
    assert [d.line for d in run.differences] == READY_DIFFERENCES[path.stem]
    assert not run.unexpected and not run.missing and not run.disagreements
    assert run.exit_status == 0


def test_the_entra_audience_refuses_another_apps_token() -> None:
    run = dry_run(load_profile(READY[0].parent / "entra-id-app-roles.yaml"))
    other = next(p for p in run.principals if p.name == "billing-api-token")
    assert other.refused == "audience mismatch" and not other.differences


MISTAKE = """
name: payments team
namespaces: [payments]
principals:
  - name: payments-worker
    claims: {sub: payments-worker, permissions: ["payments:worker"]}
    allow:
      - groups: [poll]
"""


def test_a_mistaken_intent_exits_1_with_a_readable_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "profile.json"
    assert main(["profile", str(write(tmp_path, MISTAKE)), "--dry-run", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert (
        "payments-worker: intended to poll in payments; the server DENIES PollWorkflowTaskQueue, "
        "PollActivityTaskQueue, PollNexusTaskQueue and 15 more: `payments:worker` grants nothing "
        "(worker=1 is below reader=2); add `payments:write`"
    ) in printed
    report = json.loads(out.read_text())
    assert report["exit_status"] == 1 and report["differences"][0]["fix"] == "add `payments:write`"


def test_an_expected_difference_that_does_not_show_fails_the_check(tmp_path: Path) -> None:
    text = MISTAKE.replace("payments:worker", "payments:write") + (
        "expect_differences:\n  - {principal: payments-worker, intent: poll, server: denies, because: guide}\n"
    )
    run = dry_run(load_profile(write(tmp_path, text)))
    assert not run.differences and [e.describe() for e in run.missing] == [
        "payments-worker: poll: the server denies"
    ]
    assert run.exit_status == 1


def test_deny_wins_over_allow_and_cluster_calls_are_checked_once(tmp_path: Path) -> None:
    from harness.profiles.intent import expand

    profile = load_profile(
        write(
            tmp_path,
            GOOD_HEAD.replace("[payments]", "[a, b]")
            + "    allow: [{groups: [all]}]\n    deny: [{groups: [terminate]}]\n",
        )
    )
    calls = expand(profile.principals[0], profile.namespaces, TABLE)
    terminate = [c for c in calls if c.call.name == "TerminateWorkflowExecution"]
    assert [(c.namespace, c.allowed, c.terms) for c in terminate] == [
        ("a", False, ("terminate",)),
        ("b", False, ("terminate",)),
    ]
    assert [c.namespace for c in calls if c.call.name == "ListNamespaces"] == [""]


def test_a_string_claim_gets_a_fix_that_makes_it_an_array(tmp_path: Path) -> None:
    text = MISTAKE.replace('["payments:worker"]', '"payments:write"')
    (difference,) = dry_run(load_profile(write(tmp_path, text))).differences
    assert (
        difference.cause
        == "`permissions` is a string, not an array: the server ignores it (no roles, no error)"
    )
    assert difference.fix == "make `permissions` an array: ['payments:write']"


# -- hostile files: one error, at once -------------------------------------------------------------------

LAUGHS = "".join(
    [
        "name: t\n",
        "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        *(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 8)),
        "principals: [{name: w, claims: {sub: w, big: *l7}, allow: [{groups: [read], namespaces: [p]}]}]\n",
    ]
)  # 536 bytes whose aliases repeat `lol` 9**8 times: minutes of CPU before aliases were counted
REPEATED = "YAML aliases repeat values past 50,000 in all: write the values out instead of nesting aliases"
CHAIN = "name: t\nl0: &l0 [x]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 100))


@pytest.mark.parametrize(
    ("text", "line", "names"),
    [
        (LAUGHS, 6, REPEATED),
        (
            "a: &a [*a]\n",
            1,
            "YAML alias *a is inside the value it names: write it out",
        ),  # RecursionError before
        ("name: t\nx: " + "[" * 3000 + "]" * 3000 + "\n", 2, "the profile nests deeper than 64 levels"),
        (CHAIN, 64, "the profile nests deeper than 64 levels"),  # through aliases
        ("name: t\nx: [" + "1," * 50_001 + "]\n", 2, "the profile holds more than 50,000 values"),
        ("name: t\nx: caf\xe9\n", 2, "not UTF-8 text (byte 14): save the profile as UTF-8"),
    ],
    ids=["billion-laughs", "self-reference", "deep", "deep-aliases", "many-values", "latin-1"],
)
def test_a_hostile_profile_gets_one_error_with_its_line(
    tmp_path: Path, text: str, line: int, names: str
) -> None:
    path = tmp_path / "profile.yaml"
    path.write_bytes(text.encode("latin-1" if "\xe9" in text else "utf-8"))
    with pytest.raises(ProfileError) as raised:
        load_profile(path)
    assert str(raised.value) == f"{path}:{line}: {names}"


def test_aliases_that_share_claims_still_load(tmp_path: Path) -> None:
    """The Entra sample's `claims: &entra` / `<<: *entra` idiom: counted at the size of what it repeats."""
    shared = "name: t\nnamespaces: [p]\nprincipals:\n  - name: a\n    claims: &c {sub: a, iss: x}\n"
    rest = "    allow: [{groups: [read]}]\n  - name: b\n    claims: {<<: *c, sub: b}\n    allow: [{groups: [read]}]\n"
    profile = load_profile(write(tmp_path, shared + rest))
    assert [dict(p.claims) for p in profile.principals] == [
        {"sub": "a", "iss": "x"},
        {"sub": "b", "iss": "x"},
    ]


def test_a_profile_over_a_mebibyte_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("name: t\n" + "# padding\n" * 110_000)
    with pytest.raises(ProfileError) as raised:
        load_profile(path)
    assert (
        str(raised.value)
        == f"{path}: the profile is larger than 1,048,576 bytes (1 MiB), the most a profile may be"
    )


def test_the_command_refuses_a_billion_laughs_with_one_line_and_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, LAUGHS)
    assert main(["profile", str(path), "--dry-run"]) == 4
    assert capsys.readouterr().err == f"error: {path}:6: {REPEATED}\n"
