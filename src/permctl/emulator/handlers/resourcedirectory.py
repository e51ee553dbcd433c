"""Resource directory (resourcedirectorymaster 2022-04-19): member accounts and folders,
listed by PageNumber and PageSize."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from permctl.emulator.context import Context, Handler
from permctl.emulator.errors import not_found
from permctl.emulator.pagination import by_number
from permctl.emulator.schema import DEFAULT_TIME, AccountDoc, FolderDoc
from permctl.emulator.state import ROOT_FOLDER_NAME, ResourceDirectory

VERSION = "2022-04-19"
SERVICE = "resourcemanager"

T = TypeVar("T")


def _rd(ctx: Context) -> ResourceDirectory:
    if ctx.state.rd is None:
        raise not_found(
            "EntityNotExists.ResourceDirectory",
            "resource directory of account",
            ctx.state.account_id,
        )
    return ctx.state.rd


def _paged(
    ctx: Context, items: Sequence[T], wrapper: str, render: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """`{"Accounts": {"Account": [...]}, TotalCount, PageNumber, PageSize}` and its likes."""
    number = ctx.params.integer("PageNumber", 1, 1, 1_000_000)
    size = ctx.params.integer("PageSize", 10, 1, 100)
    page = by_number(items, number, size)
    return {
        f"{wrapper}s": {wrapper: [render(item) for item in page.items]},
        "TotalCount": page.total,
        "PageNumber": number,
        "PageSize": size,
    }


def _accounts(ctx: Context) -> dict[str, Any]:
    rd = _rd(ctx)
    accounts = list(rd.accounts.values())
    if keyword := ctx.params.get("QueryKeyword"):
        accounts = [
            a for a in accounts if any(keyword in v for v in (a.id, a.name, a.display_name or ""))
        ]
    return _paged(ctx, accounts, "Account", lambda account: _account(rd, account))


def _account(rd: ResourceDirectory, account: AccountDoc) -> dict[str, Any]:
    return {
        "AccountId": account.id,
        "AccountName": account.name,
        "DisplayName": account.display_name or account.name,
        "FolderId": rd.folder_of(account),
        "ResourceDirectoryId": rd.doc.id,
        "ResourceDirectoryPath": rd.account_path(account),
        "Type": account.type,
        "Status": account.status,
        "JoinMethod": account.join_method,
        "JoinTime": account.join_time,
        "ModifyTime": account.join_time,
    }


def list_folders_for_parent(ctx: Context) -> dict[str, Any]:
    rd = _rd(ctx)
    parent = ctx.params.get("ParentFolderId") or rd.doc.root_folder_id
    if parent != rd.doc.root_folder_id and parent not in rd.folders:
        raise not_found("EntityNotExists.Folder", "folder", parent)
    children = [f for f in rd.folders.values() if f.parent == parent]
    return _paged(ctx, children, "Folder", _folder_summary)


def _folder_summary(folder: FolderDoc) -> dict[str, Any]:
    return {"FolderId": folder.id, "FolderName": folder.name, "CreateTime": DEFAULT_TIME}


def list_authorized_folders(ctx: Context) -> dict[str, Any]:
    rd = _rd(ctx)
    return _paged(
        ctx,
        list(rd.folders.values()),
        "Folder",
        lambda f: {
            "FolderId": f.id,
            "FolderName": f.name,
            "ResourceDirectoryPath": rd.folder_path(f.id),
        },
    )


def get_folder(ctx: Context) -> dict[str, Any]:
    rd = _rd(ctx)
    folder_id = ctx.params.require("FolderId")
    if folder_id == rd.doc.root_folder_id:
        name, parent = ROOT_FOLDER_NAME, ""
    elif folder_id in rd.folders:
        name, parent = rd.folders[folder_id].name, rd.folders[folder_id].parent
    else:
        raise not_found("EntityNotExists.Folder", "folder", folder_id)
    folder = {
        "FolderId": folder_id,
        "FolderName": name,
        "ParentFolderId": parent,
        "ResourceDirectoryPath": rd.folder_path(folder_id),
        "CreateTime": DEFAULT_TIME,
    }
    return {"Folder": folder}


HANDLERS: dict[str, Handler] = {
    "ListAccounts": _accounts,
    "ListAuthorizedAccounts": _accounts,
    "ListFoldersForParent": list_folders_for_parent,
    "ListAuthorizedFolders": list_authorized_folders,
    "GetFolder": get_folder,
}
WRITES: frozenset[str] = frozenset()
