"""The least-privilege RAM policies permctl needs for one desired state, worked out offline.

One document per identity: each section's own (its `account:` role, or the caller), the
caller's right to assume those roles, and the reviewer's for `permctl diagnose`. Every action
is one permctl calls for this file; resources are scoped where the service authorizes per
resource and the ARN format is documented, "*" elsewhere (see docs/multi-account.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from permctl.config import Config
from permctl.config.identities import accounts_of_principal, section_roles
from permctl.config.schema import CloudSsoSection, PrincipalSpec
from permctl.roles import ASM, CALLER, RoleAccess, is_principal_id
from permctl.tools.policy_mode import Mode

ANY = "*"
# Of the printed document: additions keep it, renaming or removing a field makes it "2".
FORMAT_VERSION = "1"
DIAGNOSE_ACTIONS = ("openapiexplorer:GetRequestLog", "ram:DecodeDiagnosticMessage")


def policy_document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "1", "Statement": statements}


@dataclass
class _Grants:
    """Action -> resources, for one identity."""

    resources: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def allow(self, actions: Iterable[str], *resources: str) -> None:
        for action in actions:
            self.resources[action].update(resources or (ANY,))

    def statements(self) -> list[dict[str, Any]]:
        """One statement per resource set, actions and resources sorted: stable output."""
        by_resources: defaultdict[tuple[str, ...], list[str]] = defaultdict(list)
        for action, resources in self.resources.items():
            scoped = (ANY,) if ANY in resources else tuple(sorted(resources))
            by_resources[scoped].append(action)
        return [
            {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
            for resources, actions in sorted(by_resources.items(), key=lambda kv: sorted(kv[1]))
        ]


CALLER_NAME = "caller"
DIAGNOSE_NAME = "diagnose"


@dataclass(frozen=True)
class PolicyFor:
    name: str  # names the document on the command line and its file: see identity_name
    attach_to: str  # a role ARN, or the caller's own credentials
    purpose: str
    document: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "attach_to": self.attach_to,
            "purpose": self.purpose,
            "document": self.document,
        }


def identity_name(role: RoleAccess | None) -> str:
    """`caller`, or `<account id>-<role name>`: unique across accounts, safe as a file name."""
    if role is None:
        return CALLER_NAME
    return f"{role.account_id}-{role.role_arn.rsplit('/', 1)[-1]}"


def required_policies(config: Config, mode: Mode) -> list[PolicyFor]:
    roles = section_roles(config)
    sections = roles.sections
    grants: defaultdict[RoleAccess | None, _Grants] = defaultdict(_Grants)
    purposes: defaultdict[RoleAccess | None, list[str]] = defaultdict(list)
    # The live-state read asks who the Service Mesh identity is, with or without meshes.
    grants[sections.get(ASM)].allow(["sts:GetCallerIdentity"])
    purposes[sections.get(ASM)].append("caller identity")
    if config.asm:
        for mesh_account in roles.mesh_accounts:
            role = mesh_account.role
            principals = [
                spec
                for spec in config.asm.principals
                if mesh_account in accounts_of_principal(config.asm, spec, roles.mesh_accounts)
            ]
            grants[role].allow(["sts:GetCallerIdentity"])
            _asm(principals, mode, grants[role], _account(role))
            purposes[role] += [
                p for p in ("caller identity", "Service Mesh") if p not in purposes[role]
            ]
    if config.cloudsso:
        _cloudsso(
            config.cloudsso,
            mode,
            grants[sections.get("cloudsso")],
            _account(sections.get("cloudsso")),
        )
        purposes[sections.get("cloudsso")].append("CloudSSO and the resource directory")
    assumed = sorted({r.role_arn for r in grants if r is not None})
    if assumed:
        grants[None].allow(["sts:AssumeRole"], *assumed)
        purposes[None].append("assuming the sections' roles")
    policies = [
        PolicyFor(
            identity_name(role),
            role.role_arn if role else CALLER,
            f"permctl {mode.value}: " + ", ".join(purposes[role]),
            policy_document(grants[role].statements()),
        )
        for role in sorted(grants, key=lambda r: (r is not None, r.role_arn if r else ""))
    ]
    return [*policies, *_diagnose_policies(assumed)]


def _account(role: RoleAccess | None) -> str:
    """The account id of an assumed role; "*" (the policy's own account) for the caller."""
    return role.account_id if role else ANY


def _asm(
    principals: Iterable[PrincipalSpec],
    mode: Mode,
    grants: _Grants,
    account: str,
) -> None:
    """Service Mesh documents no resource ARN for its RBAC actions: they take "*". RAM users
    and roles named (not given by id) are looked up one by one, each its own resource; RAM's
    listings take "*"."""
    grants.allow(
        [
            "servicemesh:DescribeServiceMeshes",
            "servicemesh:DescribeUsersWithPermissions",
            "servicemesh:DescribeUserPermissions",
        ]
    )
    # Principals the file does not list are named, for the reviewer, by listing RAM.
    grants.allow(["ram:ListUsers", "ram:ListRoles"])
    if mode is Mode.APPLY:
        grants.allow(["servicemesh:GrantUserPermissions"])
    for spec in principals:
        if spec.ram_user is not None and not is_principal_id(spec.ram_user):
            grants.allow(["ram:GetUser"], f"acs:ram:*:{account}:user/{spec.ram_user}")
        if spec.ram_role is not None and not is_principal_id(spec.ram_role):
            grants.allow(["ram:GetRole"], f"acs:ram:*:{account}:role/{spec.ram_role}")


def _cloudsso(section: CloudSsoSection, mode: Mode, grants: _Grants, account: str) -> None:
    """CloudSSO authorizes on the directory and what lies in it. Creating and deleting an
    assignment also authorizes on the target account, whose ARN format CloudSSO does not
    document: those two take "*". Resource directory listings take "*"."""
    directory = f"acs:cloudsso:*:{account}:directory/{section.directory}"
    inside = f"{directory}/*"
    grants.allow(["cloudsso:ListAccessAssignments"], directory)
    refs = {
        "AccessConfiguration": [a.access_configuration for a in section.assignments],
        "User": [u for a in section.assignments for u in a.users],
        "Group": [g for a in section.assignments for g in a.groups],
    }
    prefixes = {"AccessConfiguration": "ac-", "User": "u-", "Group": "g-"}
    for kind, names in refs.items():
        if names:
            grants.allow([f"cloudsso:List{kind}s"], directory)
        # A ref given by id is looked up by id when the directory is too large to list.
        if any(name.startswith(prefixes[kind]) for name in names):
            grants.allow([f"cloudsso:Get{kind}"], inside)
    # Access held through a group reaches its members: access reports and plans name them.
    grants.allow(["cloudsso:ListGroupMembers"], directory, inside)
    grants.allow(["resourcemanager:ListAuthorizedAccounts"])
    if any(not f.startswith("fd-") for a in section.assignments for f in a.folders):
        grants.allow(["resourcemanager:ListAuthorizedFolders"])
    if mode is Mode.APPLY:
        grants.allow(["cloudsso:CreateAccessAssignment"])
        grants.allow(["cloudsso:GetTaskStatus"], directory, inside)
        if section.prune_unlisted or any(a.expires for a in section.assignments):
            grants.allow(["cloudsso:DeleteAccessAssignment"])
    if section.access_configurations or section.prune_access_configurations:
        _access_configurations(section, mode, grants, directory, inside)


def _access_configurations(
    section: CloudSsoSection, mode: Mode, grants: _Grants, directory: str, inside: str
) -> None:
    """Managed access configurations are listed in the directory and read one by one inside
    it; apply creates them in the directory and changes, re-provisions and (opted in) deletes
    them inside it. Provisioning also authorizes on the target account: "*", as assignments."""
    grants.allow(["cloudsso:ListAccessConfigurations"], directory)
    grants.allow(["cloudsso:ListPermissionPoliciesInAccessConfiguration"], inside)
    grants.allow(["cloudsso:ListAccessConfigurationProvisionings"], directory, inside)
    if mode is not Mode.APPLY:
        return
    grants.allow(["cloudsso:CreateAccessConfiguration"], directory)
    grants.allow(
        [
            "cloudsso:UpdateAccessConfiguration",
            "cloudsso:AddPermissionPolicyToAccessConfiguration",
            "cloudsso:RemovePermissionPolicyFromAccessConfiguration",
            "cloudsso:UpdateInlinePolicyForAccessConfiguration",
        ],
        inside,
    )
    grants.allow(["cloudsso:ProvisionAccessConfiguration"])
    grants.allow(["cloudsso:GetTaskStatus"], directory, inside)
    if section.prune_access_configurations:
        grants.allow(["cloudsso:DeleteAccessConfiguration"], inside)


def _diagnose_policies(assumed: list[str]) -> list[PolicyFor]:
    """A reviewer reads the log in the account where the call was made: their own, and the
    roles' accounts through those roles."""
    diagnose = policy_document(
        [{"Effect": "Allow", "Action": list(DIAGNOSE_ACTIONS), "Resource": [ANY]}]
    )
    return [
        PolicyFor(DIAGNOSE_NAME, who, "permctl diagnose", diagnose) for who in (CALLER, *assumed)
    ]


def render(policies: list[PolicyFor]) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "policies": [p.as_json() for p in policies]}


def documents(policies: list[PolicyFor]) -> dict[str, dict[str, Any]]:
    """Name -> the policy document alone, as `aliyun ram CreatePolicy --PolicyDocument` takes
    it. The reviewer's document is the same whoever it is attached to: it appears once."""
    return {p.name: p.document for p in policies}
