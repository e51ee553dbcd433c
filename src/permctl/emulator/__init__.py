"""A local HTTP emulator of the Alibaba Cloud APIs permctl uses, for tests, benchmarks and demos.

It speaks the OpenAPI RPC protocol with ACS3-HMAC-SHA256 signatures, so the unmodified SDK
clients talk to it when configured with
`Config(access_key_id=..., access_key_secret=..., endpoint="127.0.0.1:PORT", protocol="HTTP")`:

- servicemesh 2020-01-11: DescribeUserPermissions, DescribeUsersWithPermissions,
  GrantUserPermissions, DescribeServiceMeshes
- cloudsso 2021-05-15: ListDirectories, ListUsers, GetUser, ListGroups, GetGroup,
  ListAccessConfigurations, GetAccessConfiguration, ListAccessAssignments,
  CreateAccessAssignment, DeleteAccessAssignment, GetTaskStatus, ListGroupMembers,
  ListJoinedGroupsForUser
- resourcedirectorymaster 2022-04-19: ListAccounts, ListAuthorizedAccounts,
  ListAuthorizedFolders, ListFoldersForParent, GetFolder
- ram 2015-05-01: GetUser, GetRole, ListUsers, ListRoles, DecodeDiagnosticMessage (of the
  EncodedDiagnosticMessage a `deny` knob's 403 carries)
- sts 2015-04-01: GetCallerIdentity, AssumeRole (also signed the older HMAC-SHA1 query way, as
  the credentials package's RAM-role-ARN provider does); its temporary key acts as the role in
  the role's account
- openapiexplorer 2024-11-30 (ROA): GetRequestLog over the call log, for calls of the caller's
  own account

    with Emulator("examples/live-state.yaml", knobs=Knobs(seed=1, latency_ms=20)) as emu:
        config = Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret,
                        endpoint=emu.endpoint, protocol="HTTP")
        ...
        emu.calls             # every call: Call(sequence, time, action, ..., code, request_id)
        emu.count("GrantUserPermissions")
        emu.writes            # GrantWrite(before, after) and AssignmentWrite records
        emu.set_knobs(throttle_rate=0.2)
        emu.wait_until(lambda: emu.count("GrantUserPermissions") > 0, timeout_s=30)
        emu.dump()            # the live state, in the schema below

`Emulator(..., clock=...)` gives it a clock of its own (epoch seconds) for call times, the QPS
cap's second and task delays: a clock a test moves makes them independent of machine speed.
`Knobs` (seeded) add latency, throttling, 5xx errors, a QPS cap (over all calls, per action
and account with `api_qps_caps`, and CloudSSO's published limits with `published_limits`),
task delays and failures, writes that fail after they were applied and 403 denials. Answers
take the shapes the API pages document; knobs switch to native JSON shapes (arrays, booleans,
numbers), to IsRamRole as the DescribeUserPermissions page reads it, and to quoted CloudSSO
filters taken literally or refused.
`python -m permctl.emulator serve --state FILE` runs it from a shell.

The state schema (YAML or JSON; ids are strings, a number is taken as its digits; every
reference must resolve, and all problems are reported at once):

    account_id: "1000000000000001"      # the caller's account
    access_keys:                        # optional; absent: one pair is generated
      - id: permctl-emulator-key
        secret: permctl-emulator-secret-not-real
        security_token: null            # optional: the key then needs this x-acs-security-token
        principal: null                 # optional: RAM user/role (id or name) the key belongs to
    meshes:
      - {id: c57b848115458460583a4260cb713abc, name: prod-mesh, region_id: cn-hangzhou}
    ram:
      users:
        - id: "278525736094801234"
          name: alice
          display_name: Alice           # optional
          grants: [{mesh: c57b848115458460583a4260cb713abc, role: istio-admin}]
      roles:
        - {id: "300000000000000001", name: ci-deployer, grants: []}
        # a role may set external_id: AssumeRole must then pass it as ExternalId
    resource_directory:                 # optional; absent: its APIs say EntityNotExists
      id: rd-k4abcd
      root_folder_id: r-Wmabcd
      folders: [{id: fd-bVaRIG1234, name: dev, parent: r-Wmabcd}]
      accounts:                         # folder absent: under the root
        - {id: "114240524784abcd", name: dev-test, display_name: dev-test, folder: fd-bVaRIG1234}
    cloudsso:
      directories:
        - id: d-00fc2p61abcd
          name: example-directory
          users: [{id: u-00q8wbq42wiltcrkabcd, name: alice}]
          groups:                       # members: user ids (optional)
            - {id: g-00jqzghi2n3lwnvgabcd, name: platform-admins, members: [u-00q8wbq42wiltcrkabcd]}
          access_configurations: [{id: ac-00jhtfl8thteu6ujabcd, name: ECS-Admin}]
          assignments:
            - access_configuration: ac-00jhtfl8thteu6ujabcd
              account: "114240524784abcd"
              principal_type: User      # or Group
              principal: u-00q8wbq42wiltcrkabcd
    accounts:                           # optional: other accounts, reached by AssumeRole of
      - account_id: "2000000000000002"  # one of their roles; same sections as above, no keys
        meshes: [{id: c4ec191f4e12145c09286ea3e2b8fabc, name: member-mesh}]
        ram: {roles: [{id: "300000000000000002", name: permctl, external_id: ext-1}]}

Role names are istio-admin, istio-ops and istio-readonly. Optional fields with defaults:
accounts' type (ResourceAccount), status (CreateSuccess), join_method (created) and join_time;
CloudSSO users' display_name, email and status (Enabled); groups' and access configurations'
description, access configurations' session_duration (3600), directories' region. See
`permctl.emulator.schema`. `Emulator.dump()` returns the live state in this schema, defaults
filled in.
"""

from permctl.emulator.emulator import Emulator
from permctl.emulator.errors import ApiFault
from permctl.emulator.faults import DenyRule, Knobs
from permctl.emulator.journal import AssignmentWrite, Call, GrantWrite, Write
from permctl.emulator.schema import StateFileError
from permctl.emulator.state import AssignmentKey, EmulatorState, MeshGrant

__all__ = [
    "ApiFault",
    "AssignmentKey",
    "AssignmentWrite",
    "Call",
    "DenyRule",
    "Emulator",
    "EmulatorState",
    "GrantWrite",
    "Knobs",
    "MeshGrant",
    "StateFileError",
    "Write",
]
