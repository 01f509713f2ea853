"""A profile run as plain lines (stdout) and as JSON (reports/profile.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.atomic import write_text_atomic
from harness.profiles.reading import role_name
from harness.profiles.result import ProfileRun
from harness.safety import NOT_PROBED

SCHEMA = "temporal-authz-profile/1"


def roles_line(claims: Any, refused: str | None = None) -> str:
    if refused is not None:
        return f"the server refuses the token itself ({refused}): no roles"
    if claims is None:
        return "the mapper refuses the token (no roles)"
    parts = [f"system: {role_name(claims.system)}"]
    parts += [f"`{ns}`: {role_name(role)}" for ns, role in sorted(claims.namespaces.items())]
    return "; ".join(parts)


def lines(run: ProfileRun, out: Path | None = None) -> list[str]:
    profile = run.profile
    server = run.server
    text = [
        f"profile {profile.path} ({profile.name}) against {server['version']} at {server['address']} "
        f"({server['backend']}, {server['keys']})",
        f"  config: {_config(server['authorization'])}; permission format: `{run.fmt.template or '?'}` ({run.fmt.origin})",
        "",
        "principals (what the server derives from each token):",
    ]
    for p in run.principals:
        skipped = [c for c in p.probed if not c.probed]
        sent = f"{len(p.probed) - len(skipped)} calls probed"
        if skipped:
            sent += f", {len(skipped)} {NOT_PROBED} (the model's answer stands in)"
        text.append(f"  {p.name}: {roles_line(p.reading.claims, p.refused)}; {sent}")
        grouped: dict[tuple[str, str], list[str]] = {}
        for c in skipped:
            grouped.setdefault((c.intended.namespace, c.model.value), []).append(c.intended.call.name)
        text += [
            f"    {NOT_PROBED}{' in ' + namespace if namespace else ''}, the model says {said}: {', '.join(names)}"
            for (namespace, said), names in grouped.items()
        ]
        text += [f"    note: {n}" for n in p.reading.notes()]
    unexpected, expected = run.unexpected, [d for d in run.differences if d.expected is not None]
    text += ["", f"unexpected differences ({len(unexpected)}):"]
    text += [f"  {d.line}" for d in unexpected] or ["  none"]
    if profile.expected:
        text += [
            "",
            f"expected differences ({len(expected)} of {len(profile.expected)} listed in the profile):",
        ]
        for d in expected:
            text += [f"  {d.line}", f"    expected: {d.expected.because if d.expected else ''}"]
    if run.missing:
        text += [
            "",
            f"expected differences that did NOT show ({len(run.missing)}): the server or the profile changed",
        ]
        text += [f"  {e.describe()} ({e.where})" for e in run.missing]
    if run.disagreements:
        text += [
            "",
            f"model and server disagree ({len(run.disagreements)} calls): hints for these may be wrong",
        ]
        text += [
            f"  {name}: {p.intended.call.short}{' in ' + p.intended.namespace if p.intended.namespace else ''}: "
            f"the server {p.observed.value}, the model {p.model.value} ({p.model_reason}); server said {p.answer}"
            for name, p in run.disagreements
        ]
    verdict = (
        "differs from its intent"
        if run.exit_status
        else "matches its intent (apart from the expected differences)"
    )
    where = f"; details in {out}" if out else ""
    text += ["", f"result: the server {verdict}: exit status {run.exit_status}{where}"]
    return text


def _config(authorization: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in authorization.items()) or "the server's defaults"


def as_json(run: ProfileRun) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "profile": {"path": str(run.profile.path), "name": run.profile.name},
        "server": run.server,
        "permission_format": {"template": run.fmt.template, "origin": run.fmt.origin},
        "principals": [
            {
                "name": p.name,
                "claims": dict(p.payload),
                "roles": roles_line(p.reading.claims, p.refused),
                "notes": p.reading.notes(),
                "calls": [probed.as_dict() for probed in p.probed],
            }
            for p in run.principals
        ],
        "differences": [d.as_dict() for d in run.differences],
        "expected_not_seen": [
            {"difference": e.describe(), "because": e.because, "where": e.where} for e in run.missing
        ],
        "model_disagreements": [{"principal": n, **p.as_dict()} for n, p in run.disagreements],
        "exit_status": run.exit_status,
    }


def write_json(run: ProfileRun, out: Path) -> None:
    write_text_atomic(out, json.dumps(as_json(run), indent=1, default=str) + "\n")
