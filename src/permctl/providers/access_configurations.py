"""CloudSSO access configurations: what each grants, where it is provisioned, and the calls
that change them.

Reading costs the paginated listing (once a plan: resolving names keeps it for the read)
plus one ListPermissionPoliciesInAccessConfiguration per access configuration asked for;
provisionings are listed only for those the listing flags ReprovisionRequired (a provisioning
that is up to date needs nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from alibabacloud_cloudsso20210515 import models as sso_models

from permctl.errors import ApiError
from permctl.model import AccessConfiguration, LiveAccessConfiguration, Provisioning
from permctl.policydocument import canonical_policy, parse
from permctl.providers.cloudsso import DIRECTORY_PAGE_SIZE, TARGET_TYPE, CloudSsoProvider, Task
from permctl.providers.connection import Connection

REPROVISION_REQUIRED = "ReprovisionRequired"
PROVISIONING_PAGE_SIZE = 20  # the API's maximum
# The name permctl gives an inline policy it adds; one already there keeps its own.
INLINE_POLICY_NAME = "permctl-inline"


@dataclass(frozen=True)
class AccessConfigurationListing:
    """Every access configuration of a directory by id (name and whether it needs
    re-provisioning somewhere), and the full record of those asked for."""

    names: dict[str, str]
    reprovision_required: frozenset[str]
    read: dict[str, LiveAccessConfiguration]  # id -> record, for the ones asked for


class AccessConfigurationProvider:
    def __init__(self, connection: Connection, cloudsso: CloudSsoProvider) -> None:
        self._connection = connection.service("cloudsso")
        self._client = self._connection.client
        self._cloudsso = cloudsso  # for its paged listings
        # A listing made to resolve names, kept for the one `read` of the same plan after it.
        self._listings: dict[str, list[Any]] = {}

    # -- reads ------------------------------------------------------------------------------

    def read(
        self, directory_id: str, wanted: Collection[str], *, everything: bool = False
    ) -> AccessConfigurationListing:
        """The listing, and the policies (and stale provisionings) of the access configurations
        named in `wanted` (names or ids) that exist, or of every one with `everything`."""
        listed = directory_id in self._listings
        entries = self._listings.pop(directory_id) if listed else self._list_all(directory_id)
        names = {e.access_configuration_id: e.access_configuration_name for e in entries}
        if everything:
            wanted = list(names)
        stale = frozenset(
            e.access_configuration_id
            for e in entries
            if REPROVISION_REQUIRED in (e.status_notifications or [])
        )
        listing = AccessConfigurationListing(names, stale, {})
        ids = {i for ref in wanted if (i := id_of(ref, names))}
        chosen = [e for e in entries if e.access_configuration_id in ids]
        records = self._connection.map(
            partial(self._record, directory_id, stale),
            chosen,
            label="Reading CloudSSO access configurations",
        )
        listing.read.update({r.configuration_id: r for r in records})
        return listing

    def names(self, directory_id: str) -> dict[str, str]:
        """id -> name of every access configuration of the directory. The listing is kept for
        the `read` that follows, so a plan lists them once."""
        if directory_id not in self._listings:
            self._listings[directory_id] = self._list_all(directory_id)
        return {
            e.access_configuration_id: e.access_configuration_name
            for e in self._listings[directory_id]
        }

    def _list_all(self, directory_id: str) -> list[Any]:
        return self._cloudsso.every_page(
            "ListAccessConfigurations",
            partial(
                sso_models.ListAccessConfigurationsRequest,
                directory_id=directory_id,
                max_results=DIRECTORY_PAGE_SIZE,
            ),
            "access_configurations",
        )

    def _record(
        self, directory_id: str, stale: frozenset[str], entry: Any
    ) -> LiveAccessConfiguration:
        configuration_id = entry.access_configuration_id
        request = sso_models.ListPermissionPoliciesInAccessConfigurationRequest(
            directory_id=directory_id, access_configuration_id=configuration_id
        )
        body = self._connection.call(
            "ListPermissionPoliciesInAccessConfiguration",
            partial(self._client.list_permission_policies_in_access_configuration, request),
        ).body
        policies = body.permission_policies or []
        system = sorted(p.permission_policy_name for p in policies if _is(p, "System"))
        inline = next((p for p in policies if _is(p, "Inline")), None)
        granted = AccessConfiguration(
            name=entry.access_configuration_name,
            description=entry.description or "",
            session_duration=int(entry.session_duration or 3600),
            relay_state=entry.relay_state or "",
            system_policies=tuple(system),
            inline_policy=(
                canonical_policy(parse(inline.permission_policy_document)) if inline else None
            ),
        )
        provisionings = (
            self.provisionings(directory_id, configuration_id, REPROVISION_REQUIRED)
            if configuration_id in stale
            else ()
        )
        return LiveAccessConfiguration(
            configuration_id,
            granted,
            inline.permission_policy_name if inline else None,
            provisionings,
        )

    def provisionings(
        self, directory_id: str, configuration_id: str, status: str | None = None
    ) -> tuple[Provisioning, ...]:
        """Where the access configuration is provisioned (with `status` only, when given)."""
        entries = self._cloudsso.every_page(
            "ListAccessConfigurationProvisionings",
            partial(
                sso_models.ListAccessConfigurationProvisioningsRequest,
                directory_id=directory_id,
                access_configuration_id=configuration_id,
                provisioning_status=status,
                max_results=PROVISIONING_PAGE_SIZE,
            ),
            "access_configuration_provisionings",
        )
        return tuple(
            sorted(
                Provisioning(str(p.target_id), p.status)
                for p in entries
                if p.target_type == TARGET_TYPE
            )
        )

    # -- writes -----------------------------------------------------------------------------

    def create(self, directory_id: str, granted: AccessConfiguration) -> str:
        """Create it with its attributes; its policies are added by the calls that follow."""
        request = sso_models.CreateAccessConfigurationRequest(
            directory_id=directory_id,
            access_configuration_name=granted.name,
            description=granted.description or None,
            session_duration=granted.session_duration,
            relay_state=granted.relay_state or None,
        )
        body = self._connection.call(
            "CreateAccessConfiguration",
            partial(self._client.create_access_configuration, request),
        ).body
        return str(body.access_configuration.access_configuration_id)

    def update(
        self, directory_id: str, configuration_id: str, before: AccessConfiguration,
        after: AccessConfiguration,
    ) -> None:  # fmt: skip
        """One UpdateAccessConfiguration with every attribute that differs."""
        request = sso_models.UpdateAccessConfigurationRequest(
            directory_id=directory_id,
            access_configuration_id=configuration_id,
            new_description=_changed(before.description, after.description),
            new_session_duration=_changed(before.session_duration, after.session_duration),
            new_relay_state=_changed(before.relay_state, after.relay_state),
        )
        self._connection.call(
            "UpdateAccessConfiguration",
            partial(self._client.update_access_configuration, request),
        )

    def add_system_policy(self, directory_id: str, configuration_id: str, name: str) -> None:
        self._add_policy(directory_id, configuration_id, "System", name, None)

    def remove_policy(
        self, directory_id: str, configuration_id: str, policy_type: str, name: str
    ) -> None:
        request = sso_models.RemovePermissionPolicyFromAccessConfigurationRequest(
            directory_id=directory_id,
            access_configuration_id=configuration_id,
            permission_policy_type=policy_type,
            permission_policy_name=name,
        )
        send = partial(self._client.remove_permission_policy_from_access_configuration, request)
        # Already gone: nothing to do.
        self._call_unless("EntityNotExists", "RemovePermissionPolicyFromAccessConfiguration", send)

    def put_inline_policy(
        self, directory_id: str, configuration_id: str, name: str | None, document: str
    ) -> None:
        """One call: add the inline policy when there is none (`name` None), else replace it."""
        if name is None:
            self._add_policy(directory_id, configuration_id, "Inline", INLINE_POLICY_NAME, document)
            return
        request = sso_models.UpdateInlinePolicyForAccessConfigurationRequest(
            directory_id=directory_id,
            access_configuration_id=configuration_id,
            inline_policy_name=name,
            new_inline_policy_document=document,
        )
        self._connection.call(
            "UpdateInlinePolicyForAccessConfiguration",
            partial(self._client.update_inline_policy_for_access_configuration, request),
        )

    def _add_policy(
        self, directory_id: str, configuration_id: str, policy_type: str, name: str,
        document: str | None,
    ) -> None:  # fmt: skip
        request = sso_models.AddPermissionPolicyToAccessConfigurationRequest(
            directory_id=directory_id,
            access_configuration_id=configuration_id,
            permission_policy_type=policy_type,
            permission_policy_name=name,
            inline_policy_document=document,
        )
        send = partial(self._client.add_permission_policy_to_access_configuration, request)
        # Already there: done.
        self._call_unless("EntityAlreadyExists", "AddPermissionPolicyToAccessConfiguration", send)

    def _call_unless(self, done_code: str, action: str, send: Callable[[], Any]) -> None:
        """The call, an error meaning its work is already done taken as success: a run that
        was interrupted after it, or another writer, got there first."""
        try:
            self._connection.call(action, send)
        except ApiError as error:
            if not error.code.startswith(done_code):
                raise

    def delete(self, directory_id: str, configuration_id: str) -> None:
        request = sso_models.DeleteAccessConfigurationRequest(
            directory_id=directory_id,
            access_configuration_id=configuration_id,
            force_remove_permission_policies=True,
        )
        self._connection.call(
            "DeleteAccessConfiguration",
            partial(self._client.delete_access_configuration, request),
        )

    def provision(self, directory_id: str, configuration_id: str, account_id: str) -> Task:
        request = sso_models.ProvisionAccessConfigurationRequest(
            directory_id=directory_id,
            access_configuration_id=configuration_id,
            target_type=TARGET_TYPE,
            target_id=account_id,
        )
        try:
            body = self._connection.call(
                "ProvisionAccessConfiguration",
                partial(self._client.provision_access_configuration, request),
            ).body
        except ApiError as error:
            if error.code.startswith("OperationConflict"):
                return Task(None, error.request_id, busy=True)
            raise
        tasks: Iterable[Any] = body.tasks or []
        return Task(next((t.task_id for t in tasks), None), body.request_id)


def id_of(ref: str, names: Mapping[str, str]) -> str | None:
    """An id as written, or the id of the one access configuration with that name: the API
    compares names without case."""
    if ref in names:
        return ref
    matches = [i for i, name in names.items() if name.lower() == ref.lower()]
    return matches[0] if len(matches) == 1 else None


def _is(policy: Any, policy_type: str) -> bool:
    return bool(policy.permission_policy_type == policy_type)


def _changed(before: Any, after: Any) -> Any:
    return after if after != before else None
