"""The security verdict of a run, from its property tests alone (never from the model, never mixed with
conformance): per property and path whether it held, was violated or was not shown, and per advisory
whether one of its cases reproduced it on this server."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.security.catalogue import Advisory, Property, load_advisories, load_properties
from harness.types import ServerVersion, VersionError

HOLDS, VIOLATED, NOT_SHOWN = "holds", "violated", "not shown"
VULNERABLE, NOT_REPRODUCED, NOT_RUN, CANNOT = (
    "VULNERABLE",
    "not reproduced",
    "not run",
    "not reproducible here",
)


def _status(verdicts: Iterable[str]) -> str:
    seen = set(verdicts)
    if "FAIL" in seen:
        return VIOLATED
    if "PASS" in seen:
        return HOLDS
    return NOT_SHOWN


def security_summary(
    tests: Iterable[Mapping[str, Any]],
    version: str | None,
    properties: Mapping[str, Property] | None = None,
    advisories: Mapping[str, Advisory] | None = None,
    cluster: bool = False,
) -> dict[str, Any]:
    """`tests`: a report's test entries; those naming a `property` and `path` count here. `cluster`: the run
    was against a cluster the harness does not own (--target): advisories are said to be exploitable or not
    exploitable there."""
    properties = load_properties() if properties is None else properties
    advisories = load_advisories() if advisories is None else advisories
    by_path: dict[str, list[Mapping[str, Any]]] = {}
    for test in tests:
        if test.get("property"):
            by_path.setdefault(f"{test['property']}/{test.get('path', '')}", []).append(test)
    props: dict[str, Any] = {}
    for pid, prop in properties.items():
        paths = {}
        for name, path in prop.paths.items():
            runs = by_path.get(path.id, [])
            verdicts = [str(t.get("verdict")) for t in runs]
            paths[name] = {
                "status": _status(verdicts),
                "tests": len(runs),
                "violations": [str(t["nodeid"]) for t in runs if t.get("verdict") == "FAIL"],
                "harness_errors": sum(1 for v in verdicts if v == "HARNESS_ERROR"),
            }
        statuses = [p["status"] for p in paths.values()]
        status = VIOLATED if VIOLATED in statuses else HOLDS if HOLDS in statuses else NOT_SHOWN
        props[pid] = {
            "title": prop.title,
            "status": status,
            "paths": paths,
            "shown": sum(1 for s in statuses if s != NOT_SHOWN),
        }
    parsed = _version(version)
    advisory_rows = {aid: _advisory(adv, props, parsed, cluster) for aid, adv in advisories.items()}
    violated = [pid for pid, p in props.items() if p["status"] == VIOLATED]
    shown = [pid for pid, p in props.items() if p["status"] != NOT_SHOWN]
    errors = sum(p["harness_errors"] for prop in props.values() for p in prop["paths"].values())
    verdict = VIOLATED if violated else HOLDS if len(shown) == len(props) and not errors else NOT_SHOWN
    return {
        "verdict": verdict,
        "line": _line(verdict, violated, shown, props, advisory_rows, errors),
        "properties": props,
        "advisories": advisory_rows,
        "violated": violated,
        "vulnerable_to": [aid for aid, row in advisory_rows.items() if row["status"] == VULNERABLE],
    }


def _version(version: str | None) -> ServerVersion | None:
    try:
        return ServerVersion.parse(version) if version else None
    except VersionError:
        return None


def _advisory(
    adv: Advisory, props: Mapping[str, Any], version: ServerVersion | None, cluster: bool
) -> dict[str, Any]:
    cases = {}
    for case in adv.cases:
        pid, _, name = case.partition("/")
        cases[case] = props[pid]["paths"][name]["status"]
    if not adv.cases:
        status = CANNOT
    elif VIOLATED in cases.values():
        status = VULNERABLE
    elif HOLDS in cases.values():
        status = NOT_REPRODUCED
    else:
        status = NOT_RUN
    fix = adv.fix_for(version) if version is not None else ""
    held = ", ".join(c for c, s in cases.items() if s == HOLDS)
    vulnerable = "EXPLOITABLE on this cluster:" if cluster else "VULNERABLE to"
    reproduced = "not exploitable on this cluster" if cluster else "not reproduced on this server"
    line = {
        VULNERABLE: f"{vulnerable} {adv.id}: {adv.lets}; {fix}",
        NOT_REPRODUCED: f"{adv.id}: {reproduced} ({held} held)",
        NOT_RUN: f"{adv.id}: not run here (its cases were skipped)",
        CANNOT: f"{adv.id}: not reproducible here: {adv.not_reproduced}",
    }[status]
    return {
        "status": status,
        "title": adv.title,
        "names": adv.names,
        "cases": cases,
        "fix": fix,
        "line": line,
        "url": adv.url,
    }


def _line(
    verdict: str,
    violated: list[str],
    shown: list[str],
    props: Mapping[str, Any],
    advisories: Mapping[str, Any],
    errors: int,
) -> str:
    if verdict == VIOLATED:
        named = [aid for aid, row in advisories.items() if row["status"] == VULNERABLE]
        why = f" ({', '.join(named)})" if named else " (no published advisory names it)"
        return f"Security: {len(violated)} propert{'y' if len(violated) == 1 else 'ies'} violated{why}: {', '.join(violated)}"
    missing = [pid for pid in props if pid not in shown]
    if verdict == HOLDS:
        return f"Security: every property held ({len(shown)} of {len(props)} shown)"
    extra = f"; {errors} harness error(s) in property tests" if errors else ""
    if not shown:
        return f"Security: nothing shown (no property test ran){extra}"
    return f"Security: no property violated, but {', '.join(missing) or 'some paths'} not shown{extra}"
