"""Resource directory: the member accounts and folders CloudSSO assignments target.

Everything is listed once per run and cached: ListAuthorizedAccounts (PageSize 100), falling
back to ListAccounts where the caller may not use it, and the same for folders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

from alibabacloud_resourcedirectorymaster20220419 import models as rd_models

from permctl.errors import ApiError
from permctl.providers.connection import Connection

PAGE_SIZE = 100
# ListAuthorized* is answered with 403 where the caller lacks the permission and 404 where the
# action does not exist; the plain listings then still work for the management account.
_FALL_BACK_STATUSES = (403, 404)


@dataclass(frozen=True)
class RdAccount:
    account_id: str
    name: str
    display_name: str
    path: tuple[str, ...]  # ResourceDirectoryPath split: rd id, root folder, folders..., account

    def in_folder(self, folder_id: str) -> bool:
        """A folder holds every account below it, however deep."""
        return folder_id in self.path[:-1]


@dataclass(frozen=True)
class RdFolder:
    folder_id: str
    name: str


def split_path(path: str | None) -> tuple[str, ...]:
    return tuple(part for part in (path or "").split("/") if part)


def rd_account(item: Any) -> RdAccount:
    """One account of ListAccounts or ListAuthorizedAccounts, as the SDK model reads it."""
    return RdAccount(
        account_id=str(item.account_id),
        name=item.account_name or "",
        display_name=item.display_name or "",
        path=split_path(item.resource_directory_path),
    )


def accounts_of(body: Any) -> list[Any]:
    return (body.accounts.account if body.accounts else None) or []


def _folders_of(body: Any) -> list[Any]:
    return (body.folders.folder if body.folders else None) or []


@dataclass(frozen=True)
class _Listing:
    """One PageNumber/PageSize listing: the action, the SDK method, its request type, and
    where the items sit in a page."""

    action: str
    send: Callable[[Any], Any]
    request: Callable[..., Any]
    items_of: Callable[[Any], list[Any]]


class ResourceDirectoryProvider:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection.service("resourcedirectory")
        client = self._connection.client
        self._authorized_accounts = _Listing(
            "ListAuthorizedAccounts",
            client.list_authorized_accounts,
            rd_models.ListAuthorizedAccountsRequest,
            accounts_of,
        )
        self._all_accounts = _Listing(
            "ListAccounts", client.list_accounts, rd_models.ListAccountsRequest, accounts_of
        )
        self._authorized_folders = _Listing(
            "ListAuthorizedFolders",
            client.list_authorized_folders,
            rd_models.ListAuthorizedFoldersRequest,
            _folders_of,
        )

    @cached_property
    def accounts(self) -> tuple[RdAccount, ...]:
        return tuple(
            rd_account(item)
            for item in self._first_permitted(self._authorized_accounts, self._all_accounts)
        )

    @cached_property
    def folders(self) -> tuple[RdFolder, ...]:
        return tuple(
            RdFolder(folder_id=str(item.folder_id), name=item.folder_name or "")
            for item in self._first_permitted(self._authorized_folders)
        )

    def accounts_in(self, folder_id: str) -> frozenset[str]:
        return frozenset(a.account_id for a in self.accounts if a.in_folder(folder_id))

    def _first_permitted(self, primary: _Listing, fallback: _Listing | None = None) -> list[Any]:
        try:
            return self._items(primary)
        except ApiError as error:
            if fallback is None or error.status not in _FALL_BACK_STATUSES:
                raise
        return self._items(fallback)

    def _items(self, listing: _Listing) -> list[Any]:
        items: list[Any] = []
        page_number = 1
        while True:
            request = listing.request(page_number=page_number, page_size=PAGE_SIZE)
            body = self._connection.call(listing.action, partial(listing.send, request)).body
            page = listing.items_of(body)
            items += page
            if not page or len(items) >= int(body.total_count or 0):
                return items
            page_number += 1
