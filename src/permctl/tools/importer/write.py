"""The imported organisation as a permissions file a person can read and review.

Everything is named where a name resolves back to the same object (so plan finds exactly what
was read); anything else is written as its id with a comment saying so. Principals whose live
roles the file cannot express are left out, unmanaged, rather than listed in a way that would
make apply remove one of their grants.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import yaml

from permctl.config.lookalikes import lookalike_problem
from permctl.model import ASM_ROLES, AsmPrincipalLive
from permctl.providers.resourcedirectory import RdAccount
from permctl.render.common import KIND_NAMES, count_of
from permctl.resolve import accounts_named
from permctl.tools.importer.group import Entry, group_assignments
from permctl.tools.importer.read import LiveOrganisation, MeshRequest

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.@/-]*\Z")
_ID_PREFIXES = ("u-", "g-", "ac-")


def scalar(text: str) -> str:
    """`text` as a YAML scalar that reads back as the same string, also inside [...] and {...}:
    plain where that is unambiguous, double-quoted otherwise."""
    if _PLAIN.match(text) and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=not text.isprintable())


def usable_name(name: str) -> bool:
    """Whether the file can refer to an object by `name`: the loader strips names, so one with
    spaces around it would name nothing, and it refuses control characters and text that
    could pass for another name."""
    return (
        bool(name)
        and name == name.strip()
        and name.isprintable()
        and lookalike_problem(name) is None
    )


@dataclass(frozen=True)
class Ref:
    """How the file refers to an object: its name, or its id (`unnamed`) when it has no name
    or none that finds exactly this object again."""

    text: str
    unnamed: bool = False


def write_file(org: LiveOrganisation, meshes: Sequence[MeshRequest], region: str) -> str:
    lines = [
        "# Imported from live state by `permctl import`. Review it; `permctl plan` on it shows",
        "# no changes until live state or this file changes.",
        "version: 1",
        "",
        "settings:",
        f"  region: {scalar(region)}",
    ]
    if org.meshes:
        lines += ["", *_asm(org, mesh_aliases(org, meshes))]
    if org.directory_id is not None:
        lines += ["", *_cloudsso(org)]
    return "\n".join(lines) + "\n"


# -- Service Mesh ---------------------------------------------------------------------------


def mesh_aliases(org: LiveOrganisation, requests: Sequence[MeshRequest]) -> dict[str, str]:
    """Mesh id -> alias: the one asked for, else the mesh's name, else (taken or empty) its id."""
    asked = {r.mesh_id: r.alias for r in requests}
    aliases: dict[str, str] = {}
    for mesh_id, name in org.meshes.items():
        alias = asked.get(mesh_id) or name.strip()
        aliases[mesh_id] = (
            alias if usable_name(alias) and alias not in aliases.values() else mesh_id
        )
    return aliases


def _asm(org: LiveOrganisation, aliases: dict[str, str]) -> list[str]:
    lines = ["asm:", "  meshes:"]
    lines += [f"    {scalar(alias)}: {scalar(mesh_id)}" for mesh_id, alias in aliases.items()]
    listed, left_out = _expressible(org.principals, frozenset(aliases))
    labels = _labels(org, listed)
    listed.sort(key=lambda p: (p.kind.value != "ram_user", labels[p.principal_id]))
    lines.append("  principals:")
    for principal in listed:
        label, named = labels[principal.principal_id]
        if not named:
            lines.append(
                f"    # {KIND_NAMES[principal.kind]} {principal.principal_id} could not be "
                "named: RAM does not list it, or its name is not one the file can hold"
            )
        held = {g.mesh_id: g.role for g in principal.on_meshes(frozenset(aliases))}
        roles = {alias: held[m] for m, alias in aliases.items() if m in held}
        lines += [
            f"    - name: {scalar(label)}",
            f"      {principal.kind.value}: {scalar(principal.principal_id)}",
            "      roles: {" + ", ".join(f"{scalar(a)}: {r}" for a, r in roles.items()) + "}",
        ]
    if not listed:
        lines[-1] += " []"
    lines += [f"  # {note}" for note in left_out]
    lines.append("  prune_unlisted: false")
    return lines


def _expressible(
    principals: Iterable[AsmPrincipalLive], mesh_ids: frozenset[str]
) -> tuple[list[AsmPrincipalLive], list[str]]:
    """The principals the file can describe exactly (one known role per mesh), and a note for
    each of the others, which stay unmanaged."""
    listed: list[AsmPrincipalLive] = []
    notes: list[str] = []
    for principal in principals:
        held = principal.on_meshes(mesh_ids)
        per_mesh = Counter(g.mesh_id for g in held)
        if all(g.role in ASM_ROLES for g in held) and max(per_mesh.values()) == 1:
            listed.append(principal)
            continue
        roles = ", ".join(f"{g.role} on {g.mesh_id}" for g in sorted(held))
        notes.append(
            f"Left out, unmanaged: {KIND_NAMES[principal.kind]} {principal.principal_id} holds "
            f"{roles}; the file gives one of {', '.join(ASM_ROLES)} per mesh."
        )
    return listed, notes


def _labels(
    org: LiveOrganisation, principals: Iterable[AsmPrincipalLive]
) -> dict[str, tuple[str, bool]]:
    """Principal id -> (unique label, whether it is the principal's name)."""
    labels: dict[str, tuple[str, bool]] = {}
    taken: set[str] = set()
    for p in principals:
        name = org.principal_names.get((p.kind, p.principal_id), "").strip()
        name = name if usable_name(name) else ""
        label = name or f"{p.kind.value.replace('_', '-')}-{p.principal_id}"
        if label in taken:
            label = f"{label} ({p.principal_id})"
        taken.add(label)
        labels[p.principal_id] = (label, bool(name))
    return labels


# -- CloudSSO -------------------------------------------------------------------------------


def _cloudsso(org: LiveOrganisation) -> list[str]:
    entries = group_assignments(org.assignments)
    refs = _sso_refs(org)
    accounts = {a.account_id: account_ref(a, org.rd_accounts) for a in org.rd_accounts}
    scope = "directory" if org.all_accounts else "accounts"
    lines = [
        "cloudsso:",
        f"  directory: {scalar(org.directory_id or '')}",
        f"  scope: {scope}",
        f"  # {count_of(len(org.assignments), 'assignment')} in {len(entries)} "
        f"{'entry' if len(entries) == 1 else 'entries'}: one per access configuration and "
        "set of accounts.",
    ]
    if org.left_out:
        lines.append(
            f"  # Left out: {count_of(org.left_out, 'assignment')} on accounts outside the "
            "resource directory."
        )
    lines.append("  assignments:" + ("" if entries else " []"))
    for entry in sorted(entries, key=lambda e: (refs[e.access_configuration_id].text, e)):
        lines += _entry(entry, refs, accounts)
    lines.append("  prune_unlisted: false")
    return lines


def _entry(entry: Entry, refs: dict[str, Ref], accounts: dict[str, Ref]) -> list[str]:
    lines = [_field("    - access_configuration", [refs[entry.access_configuration_id]], False)]
    lines.append(_field("      accounts", [accounts[a] for a in entry.account_ids], True))
    for field, ids in (("users", entry.user_ids), ("groups", entry.group_ids)):
        if ids:
            lines.append(_field(f"      {field}", [refs[i] for i in ids], True))
    return lines


def _field(key: str, refs: list[Ref], as_list: bool) -> str:
    values = ", ".join(scalar(r.text) for r in refs)
    line = f"{key}: [{values}]" if as_list else f"{key}: {values}"
    unnamed = [r.text for r in refs if r.unnamed]
    return f"{line}  # not named: {', '.join(unnamed)}" if unnamed else line


def _sso_refs(org: LiveOrganisation) -> dict[str, Ref]:
    """Users, groups and access configurations by name where the name is unique among those
    read and cannot be taken for an id; otherwise by id."""
    kinds: dict[str, str] = {a.principal_id: a.principal_type for a in org.assignments}
    kinds.update({a.access_configuration_id: "AccessConfiguration" for a in org.assignments})
    names = {i: org.sso_names.get(i, "") for i in kinds}
    shared = Counter((kinds[i], name) for i, name in names.items())
    return {
        i: Ref(name)
        if usable_name(name) and shared[(kinds[i], name)] == 1 and not name.startswith(_ID_PREFIXES)
        else Ref(i, unnamed=True)
        for i, name in names.items()
    }


def account_ref(account: RdAccount, rd: Sequence[RdAccount]) -> Ref:
    """The account's display name or name if it finds exactly this account, else its id."""
    for candidate in (account.display_name, account.name):
        if usable_name(candidate) and [a.account_id for a in accounts_named(candidate, rd)] == [
            account.account_id
        ]:
            return Ref(candidate)
    return Ref(account.account_id, unnamed=True)
