"""The drift report for people: text for terminals and logs, markdown for issues and chat.

Both group the items by service, then by kind. Names come from the cloud and the file, so the
text form passes them through `printable` and the markdown form escapes them.
"""

from __future__ import annotations

from rich.text import Text

from permctl.drift.report import KIND_TITLES, DriftReport, describe_item
from permctl.model import SERVICES, Service
from permctl.plan import DRIFT_KINDS, DriftKind
from permctl.render.common import SERVICE_TITLES, count_of, escape, escape_html, printable
from permctl.render.markdown import MAX_ROWS_PER_SECTION, OPEN_UP_TO_ROWS

KIND_STYLES: dict[DriftKind, str] = {
    "live_not_in_file": "cyan",
    "in_file_missing_live": "green",
    "role_mismatch": "yellow",
    "expired_still_live": "red",
    "access_configuration_differs": "yellow",
    "reprovision_required": "yellow",
}
JSON_HINT = "every item is in `permctl drift --format json`"


def text(report: DriftReport) -> Text:
    out = Text()
    for service in SERVICES:
        if report.of_service(service):
            _text_service(out, report, service)
    out.append(report.summary_line(), style="bold")
    out.append("\n")
    return out


def _text_service(out: Text, report: DriftReport, service: Service) -> None:
    out.append(f"{_service_title(report, service)}\n", style="bold")
    for kind in DRIFT_KINDS:
        items = [i for i in report.of_service(service) if i.kind == kind]
        if not items:
            continue
        out.append(f"  {KIND_TITLES[kind].capitalize()} ({len(items)}):\n", style=KIND_STYLES[kind])
        for item in items:
            out.append(f"    {printable(describe_item(report.plan, item))}\n")
    out.append("\n")


def _service_title(report: DriftReport, service: Service) -> str:
    if service == "cloudsso" and report.plan.directory_id:
        return f"CloudSSO (directory {printable(report.plan.directory_id)})"
    return SERVICE_TITLES[service]


def markdown(report: DriftReport) -> str:
    lines = ["## permctl drift", "", f"**{escape(report.summary_line(), limit=1_000)}**", ""]
    if report.has_drift:
        lines += _count_table(report)
    for service in SERVICES:
        if report.of_service(service):
            lines += _markdown_service(report, service)
    return "\n".join(lines) + "\n"


def _count_table(report: DriftReport) -> list[str]:
    counts = report.counts()
    header = "| Service | " + " | ".join(KIND_TITLES[k].capitalize() for k in DRIFT_KINDS) + " |"
    rows = [
        f"| {SERVICE_TITLES[s]} | "
        + " | ".join(str(counts.get((s, k), "")) for k in DRIFT_KINDS)
        + " |"
        for s in SERVICES
    ]
    return [header, "| --- |" + " ---: |" * len(DRIFT_KINDS), *rows, ""]


def _markdown_service(report: DriftReport, service: Service) -> list[str]:
    items = report.of_service(service)
    shown = items[:MAX_ROWS_PER_SECTION]
    title = f"{escape_html(_service_title(report, service))}: {count_of(len(items), 'item')}"
    rows = [
        f"| {escape(KIND_TITLES[i.kind])} | {escape(describe_item(report.plan, i), limit=400)} |"
        for i in shown
    ]
    more = len(items) - len(shown)
    return [
        "<details open>" if len(items) <= OPEN_UP_TO_ROWS else "<details>",
        f"<summary>{title}</summary>",
        "",
        "| Drift | Item |",
        "| --- | --- |",
        *rows,
        *(["", f"_and {more} more; {JSON_HINT}._"] if more else []),
        "",
        "</details>",
        "",
    ]
