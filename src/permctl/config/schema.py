"""The desired-state file as frozen pydantic models.

These models check one file's shape: types, allowed keys, roles, and the rules that need only
the item itself (one of ram_user/ram_role, an assignment's targets and principals). Rules that
look across items or files (known mesh aliases and teams, duplicate principals, conflicting
roles) live in `checks`, because a team may be declared in one file and used in another.

Every field carries a description: the JSON Schema and docs/file-reference.md are built from
them. Where an item was written is kept beside the data, not in it, so it appears neither in the
schema nor in `Config.digest()`.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PrivateAttr,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from permctl.config.sources import Positions, Where, YamlPath, problem_at
from permctl.config.yamlload import WrittenInt
from permctl.errors import ConfigProblem
from permctl.policydocument import MAX_INLINE_POLICY_CHARS
from permctl.roles import ROLE_ARN_PATTERN
from permctl.vocabulary import (
    DEFAULT_DEPROVISION_STRATEGY,
    DEFAULT_SESSION_DURATION,
    DeprovisionStrategy,
    PrincipalKind,
    SafetySettings,
    SourceRef,
)

Role = Literal["istio-admin", "istio-ops", "istio-readonly"]
Endpoint = Literal["servicemesh", "cloudsso", "resourcedirectory", "ram", "sts", "openapiexplorer"]

# Patterns and how a message should describe what they expect.
ENDPOINT_PATTERN = r"^(https?://)?[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$"
SESSION_NAME_PATTERN = r"^[A-Za-z0-9._@-]{2,64}$"
ACCESS_CONFIGURATION_NAME_PATTERN = r"^[A-Za-z0-9-]{1,32}$"
PATTERN_HINTS = {
    ROLE_ARN_PATTERN: "a RAM role ARN such as acs:ram::1234567890123456:role/permctl (an "
    "account id has 16 digits)",
    ENDPOINT_PATTERN: "a host such as servicemesh.aliyuncs.com or a URL such as http://127.0.0.1:8080",
    SESSION_NAME_PATTERN: "2 to 64 letters, digits or . _ @ -",
    ACCESS_CONFIGURATION_NAME_PATTERN: "1 to 32 letters, digits or hyphens",
}


def _digits_as_written(value: Any) -> Any:
    return value.written if isinstance(value, WrittenInt) else value


def _calendar_date(value: Any) -> Any:
    """Only real dates: a YAML date, or text written YYYY-MM-DD. A number is not a date (pydantic
    would read it as a Unix timestamp)."""
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise ValueError(f"{value} has a time of day; write the date only, YYYY-MM-DD")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(_not_a_date(value)) from None
    raise ValueError("expected a date written as YYYY-MM-DD")


def _not_a_date(text: str) -> str:
    """Why `text` is no date: its shape, or, written YYYY-MM-DD, the day it names."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"{text!r} is not a date; write it as YYYY-MM-DD"
    year, month, day = (int(part) for part in text.split("-"))
    if not 1 <= month <= 12:
        return f"{text!r} is not a real day: there is no month {month:02d}"
    days = calendar.monthrange(year, month)[1]
    return (
        f"{text!r} is not a real day: {calendar.month_name[month]} {year} has {days} days"
        if day
        else f"{text!r} is not a real day: days start at 01"
    )


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected the number 1")
    return value


def _required_in_one_file(schema: dict[str, Any]) -> None:
    """Each file of a set may leave the value to another, so the schema of a file has no default."""
    schema.pop("default", None)


Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
# Ids are often all digits and may be written unquoted; they are kept exactly as written.
IdOrName = Annotated[
    Text,
    BeforeValidator(_digits_as_written),
    WithJsonSchema({"type": ["string", "integer"], "minLength": 1}),
]
CalendarDate = Annotated[
    date, BeforeValidator(_calendar_date), WithJsonSchema({"type": "string", "format": "date"})
]


def is_model(annotation: Any, base: type[BaseModel] = BaseModel) -> bool:
    """Whether a field's annotation is a model class (of `base`). On Python 3.10 a generic alias
    such as `list[Principal]` passes `isinstance(_, type)` yet is no class for issubclass."""
    return (
        get_origin(annotation) is None
        and isinstance(annotation, type)
        and issubclass(annotation, base)
    )


class Located(BaseModel):
    """Base of every model read from a file: knows where it, and each of its fields, was written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    _where: Where = PrivateAttr(default_factory=Where)

    @property
    def where(self) -> Where:
        """Where the item and everything below it was written."""
        return self._where

    @property
    def source(self) -> SourceRef:
        """Where the item starts in its file."""
        return self._where.at()

    def field_source(self, field: str, index: int | str | None = None) -> SourceRef:
        """Where a field's value (or one list entry / mapping value of it) was written."""
        return self._where.at(_field_path(field, index))

    def field_path(self, field: str, index: int | str | None = None) -> str:
        """The dotted path of a field in its file, such as `asm.principals[2].roles.prod`."""
        return self._where.dotted(_field_path(field, index))

    def problem(self, message: str, field: str, index: int | str | None = None) -> ConfigProblem:
        """A problem located at one of this item's fields."""
        return problem_at(self.field_source(field, index), self.field_path(field, index), message)

    def bind_sources(self, positions: Positions, path: YamlPath = ()) -> None:
        """Remember where this item and everything below it was written."""
        self._where = Where.of(positions, path)
        for name in type(self).model_fields:
            for child_path, child in _located_children(getattr(self, name), (*path, name)):
                child.bind_sources(positions, child_path)

    def merge_sources(self, others: list[Located]) -> None:
        """Answer positions from each of `others`, in order (for a section merged from files)."""
        for other in others:
            self._where = self._where.merged_with(other._where)


def _field_path(field: str, index: int | str | None) -> YamlPath:
    return (field,) if index is None else (field, index)


def _located_children(value: object, path: YamlPath) -> Iterator[tuple[YamlPath, Located]]:
    if isinstance(value, Located):
        yield path, value
    elif isinstance(value, list):
        yield from (((*path, i), v) for i, v in enumerate(value) if isinstance(v, Located))
    elif isinstance(value, dict):
        yield from (((*path, k), v) for k, v in value.items() if isinstance(v, Located))


class Safety(Located):
    """Limits that make `permctl apply` refuse a plan unless forced."""

    max_delete_percent: float = Field(
        default=30.0,
        ge=0,
        le=100,
        strict=True,
        allow_inf_nan=False,
        description="Refuse a plan that removes or changes more than this percentage of the "
        "existing managed grants (0 to 100).",
    )
    min_existing_for_threshold: int = Field(
        default=10,
        ge=0,
        strict=True,
        description="Apply max_delete_percent only when at least this many managed grants exist, "
        "so that small setups are not blocked by a single change.",
    )
    protected_principals: list[IdOrName] = Field(
        default_factory=list,
        description="Principals permctl never changes: principal labels, RAM user or role names "
        "or ids. A plan touching one is refused.",
    )

    def as_settings(self) -> SafetySettings:
        return SafetySettings(
            max_delete_percent=self.max_delete_percent,
            min_existing_for_threshold=self.min_existing_for_threshold,
            protected_principals=frozenset(self.protected_principals),
        )


class Settings(Located):
    """How permctl reaches the cloud and how careful it is."""

    region: Text = Field(default="cn-shanghai", description="Region of the API endpoints.")
    endpoints: dict[Endpoint, Annotated[str, Field(pattern=ENDPOINT_PATTERN)]] = Field(
        default_factory=dict,
        description="Endpoint overrides per service, a host (servicemesh.aliyuncs.com) or a URL "
        "(http://127.0.0.1:8080, used for the local emulator). Services: servicemesh, cloudsso, "
        "resourcedirectory, ram, sts, openapiexplorer.",
    )
    safety: Safety = Field(default_factory=lambda: Safety(), description="Safety limits for apply.")


class AccountAccess(Located):
    """Reach resources in another Alibaba Cloud account by assuming a RAM role there."""

    assume_role: str = Field(
        pattern=ROLE_ARN_PATTERN,
        description="ARN of the RAM role to assume: `acs:ram::<account id>:role/<role name>`.",
    )
    external_id: Text | None = Field(
        default=None, description="External id the role's trust policy requires."
    )
    session_name: str = Field(
        default="permctl",
        pattern=SESSION_NAME_PATTERN,
        description="Session name recorded in ActionTrail for calls made with the role.",
    )


class MeshSpec(Located):
    """A managed mesh. Written either as its instance id or as a mapping with the id."""

    id: IdOrName = Field(description="Service Mesh (ASM) instance id.")
    account: AccountAccess | None = Field(
        default=None,
        description="Assume this role to manage the mesh (overrides asm.account). Meshes "
        "reached as different roles are read and granted per account, each through its role.",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_bare_id(cls, data: Any) -> Any:
        return {"id": data} if isinstance(data, str | int) and not isinstance(data, bool) else data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        mapping = handler.resolve_ref_schema(handler(core_schema))
        return {"anyOf": [{"type": "string", "minLength": 1}, mapping]}


class PrincipalSpec(Located):
    """A RAM user or RAM role and the Service Mesh roles it holds on the managed meshes.

    Its roles are those of its teams plus its explicit `roles`; the two must agree on every mesh.
    A principal with no role at all is listed to say it must hold nothing on the managed meshes.
    """

    name: Text = Field(description="Label for this principal in plans and messages.")
    ram_user: IdOrName | None = Field(default=None, description="RAM user id or name.")
    ram_role: IdOrName | None = Field(default=None, description="RAM role id or name.")
    teams: list[Text] = Field(
        default_factory=list, description="Teams (from asm.teams) whose roles this principal holds."
    )
    roles: dict[Text, Role] = Field(
        default_factory=dict,
        description="Explicit roles: mesh alias -> istio-admin, istio-ops or istio-readonly.",
    )
    expires: CalendarDate | None = Field(
        default=None,
        description="After this date (YYYY-MM-DD) the principal's grants are planned for removal.",
    )

    @model_validator(mode="after")
    def _one_reference(self) -> PrincipalSpec:
        if (self.ram_user is None) == (self.ram_role is None):
            found = "both" if self.ram_user is not None else "neither"
            raise ValueError(f"give exactly one of ram_user or ram_role (found {found})")
        return self

    @property
    def ref(self) -> str:
        """The RAM user or role as written: an id or a name."""
        return self.ram_user if self.ram_user is not None else str(self.ram_role)

    @property
    def kind(self) -> PrincipalKind:
        return PrincipalKind.RAM_USER if self.ram_user is not None else PrincipalKind.RAM_ROLE


class AsmSection(Located):
    """Service Mesh RBAC: which RAM users and roles hold which role on which mesh."""

    meshes: dict[Text, MeshSpec] = Field(
        default_factory=dict,
        description="Managed meshes: alias -> instance id. Only these meshes are read and changed; "
        "roles on any other mesh are always kept as they are.",
    )
    teams: dict[Text, dict[Text, Role]] = Field(
        default_factory=dict,
        description="Reusable role sets: team name -> {mesh alias: role}.",
    )
    principals: list[PrincipalSpec] = Field(
        default_factory=list, description="The RAM users and roles permctl manages."
    )
    prune_unlisted: StrictBool = Field(
        default=False,
        description="When true, principals not listed here lose their roles on the managed "
        "meshes. When false they are reported as unmanaged and left alone.",
    )
    account: AccountAccess | None = Field(
        default=None,
        description="Assume this role to manage the meshes (each mesh may override it).",
    )

    def effective_roles(self, principal: PrincipalSpec) -> dict[str, Role]:
        """Mesh alias -> role: the principal's team roles with its explicit roles."""
        roles: dict[str, Role] = {}
        for team in principal.teams:
            roles.update(self.teams.get(team, {}))
        roles.update(principal.roles)
        return roles


class AssignmentSpec(Located):
    """An access configuration granted to users and groups on accounts.

    It always needs target accounts or folders, also with scope `directory`: the scope decides
    which accounts permctl manages, not where an assignment goes.
    """

    access_configuration: Text = Field(description="Access configuration name or ac- id.")
    accounts: list[IdOrName] = Field(
        default_factory=list, description="Resource directory account names or ids."
    )
    folders: list[Text] = Field(
        default_factory=list,
        description="Resource directory folder ids (fd-...): every account under the folder.",
    )
    users: list[IdOrName] = Field(
        default_factory=list, description="CloudSSO user names or u- ids."
    )
    groups: list[IdOrName] = Field(
        default_factory=list, description="CloudSSO group names or g- ids."
    )
    expires: CalendarDate | None = Field(
        default=None,
        description="After this date (YYYY-MM-DD) these assignments are planned for removal.",
    )

    @model_validator(mode="after")
    def _targets_and_principals(self) -> AssignmentSpec:
        missing = [
            what
            for what, given in (
                ("accounts or folders", self.accounts or self.folders),
                ("users or groups", self.users or self.groups),
            )
            if not given
        ]
        if missing:
            raise ValueError(f"an assignment needs at least one of {' and one of '.join(missing)}")
        return self


def _policy_from_json(value: Any) -> Any:
    """An inline policy may be written as the JSON text the console shows."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"the inline policy is not valid JSON: {error.msg}") from None


PolicyDocument = Annotated[
    dict[str, Any],
    BeforeValidator(_policy_from_json),
    WithJsonSchema({"type": ["object", "string"]}),
]


class AccessConfigurationSpec(Located):
    """An access configuration this file manages: what it grants, whole. A field left out is
    managed as the API's default, so the entry says everything the access configuration
    grants."""

    name: str = Field(
        pattern=ACCESS_CONFIGURATION_NAME_PATTERN,
        description="Unique in the directory: 1 to 32 letters, digits or hyphens. Assignments "
        "refer to it by this name.",
    )
    description: str = Field(
        default="", max_length=1024, description="Description, up to 1024 characters."
    )
    session_duration: int = Field(
        default=DEFAULT_SESSION_DURATION,
        ge=900,
        le=43200,
        strict=True,
        description="Longest session, in seconds: 900 to 43200 (default 3600).",
    )
    relay_state: str = Field(
        default="",
        description="Console page a user lands on (default: the console home page).",
    )
    system_policies: list[Text] = Field(
        default_factory=list, description="RAM system policy names, such as AliyunECSFullAccess."
    )
    inline_policy: PolicyDocument | None = Field(
        default=None,
        description="One RAM policy document (Version, Statement), written as YAML or as a JSON "
        f"string; at most {MAX_INLINE_POLICY_CHARS} characters once written as compact JSON, "
        "the API's limit (InlinePolicyDocument of AddPermissionPolicyToAccessConfiguration and "
        "UpdateInlinePolicyForAccessConfiguration, CloudSSO 2021-05-15).",
    )


class CloudSsoSection(Located):
    """CloudSSO access assignments: which users and groups hold which access configuration where."""

    directory: str = Field(
        default="",
        min_length=1,
        description="CloudSSO directory id (d-...). Required in one of the files when several are "
        "merged.",
        json_schema_extra=_required_in_one_file,
    )
    scope: Literal["accounts", "directory"] = Field(
        default="accounts",
        description="accounts: only the accounts this file names (folders expanded) are managed. "
        "directory: every account of the resource directory is managed.",
    )
    access_configurations: list[AccessConfigurationSpec] = Field(
        default_factory=list,
        description="The access configurations permctl manages, and what each grants. Those "
        "not listed are left alone.",
    )
    assignments: list[AssignmentSpec] = Field(
        default_factory=list, description="The access assignments permctl manages."
    )
    prune_unlisted: StrictBool = Field(
        default=False,
        description="When true, assignments on managed accounts that the file does not declare "
        "are deleted. When false they are reported as unmanaged and left alone.",
    )
    prune_access_configurations: StrictBool = Field(
        default=False,
        description="When true, access configurations of the directory that the file does not "
        "list are deleted (refused while an assignment the file keeps uses one). When false "
        "they are reported as unmanaged and left alone.",
    )
    deprovision_strategy: DeprovisionStrategy = Field(
        default=DEFAULT_DEPROVISION_STRATEGY,
        description="What DeleteAccessAssignment does when it removes the last assignment of an "
        "access configuration on an account: deprovision the configuration there, or None.",
    )
    account: AccountAccess | None = Field(
        default=None,
        description="Assume this role (in the resource directory's management account).",
    )


class AcceptedAccess(Located):
    """Unmanaged access known and accepted: `permctl drift` does not report it. Protected
    principals are accepted without an entry."""

    principal: IdOrName = Field(
        description="The principal: a RAM user or role name or id, or a CloudSSO user or group "
        "name or id."
    )
    mesh: Text | None = Field(
        default=None,
        description="Only its grants on this mesh (alias or id); without mesh or account, all "
        "of its unmanaged access.",
    )
    account: IdOrName | None = Field(
        default=None, description="Only its assignments on this account (name or id)."
    )
    reason: Text = Field(description="Why this access is accepted, for whoever reads the file.")

    @model_validator(mode="after")
    def _one_target(self) -> AcceptedAccess:
        if self.mesh is not None and self.account is not None:
            raise ValueError("give mesh or account, not both: an entry is about one service")
        return self


class DriftSection(Located):
    """How `permctl drift` treats access the file does not manage."""

    accept: list[AcceptedAccess] = Field(
        default_factory=list,
        description="Unmanaged access to leave out of drift reports, each with its reason, as "
        "drift tools' ignore files do.",
    )


class Config(Located):
    """The desired state: Service Mesh roles and CloudSSO assignments permctl keeps in place."""

    model_config = ConfigDict(title="permctl desired state")

    version: Annotated[Literal[1], BeforeValidator(_whole_number)] = Field(
        description="Format version of this file; always 1."
    )
    settings: Settings = Field(
        default_factory=lambda: Settings(), description="Region, endpoints, safety."
    )
    asm: AsmSection | None = Field(default=None, description="Service Mesh RBAC.")
    cloudsso: CloudSsoSection | None = Field(
        default=None, description="CloudSSO access assignments."
    )
    drift: DriftSection | None = Field(
        default=None, description="Unmanaged access that permctl drift accepts."
    )

    def digest(self) -> str:
        """sha256 of the canonical JSON of the configuration (positions are not part of it)."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()
