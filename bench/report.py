"""The Markdown tables of bench/run.py, with the targets of the benchmark issue."""

from __future__ import annotations

from typing import Any


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def rates_table(data: dict[str, Any]) -> list[str]:
    lines = ["| sink | identifier | conc. | Portero req/s | p50 / p99 ms | stock req/s "
             "| p50 / p99 ms | Portero/stock |", "|---|---|---|---|---|---|---|---|"]
    for sink in ("sink_instant", "sink_50ms"):
        if sink not in data:
            continue
        for key, row in data[sink]["portero"].items():
            peer = data[sink]["stock"][key]
            kind, conc = key.split("_c")
            lines.append(
                f"| {sink[5:]} | {kind} | {conc} | {row['rps']} | {row['p50_ms']} / "
                f"{row['p99_ms']} | {peer['rps']} | {peer['p50_ms']} / {peer['p99_ms']} | "
                f"{_ratio(row['rps'], peer['rps'])} |")
    return lines


def _search_cell(query: str) -> Any:
    return lambda b: "{p50_ms} / {p99_ms}".format(**b["mesa_search"][query])


def scale_table(data: dict[str, Any]) -> list[str]:
    small, big = data.get("users_1000"), data.get("users_1000000")
    if not small:
        return []
    lines = ["| measure | 1,000 users | 1,000,000 users |", "|---|---|---|"]

    def cell(block: dict[str, Any] | None, get: Any) -> str:
        return get(block) if block else "not run"

    rows = [
        ("known reset c1 p50 / p99 ms", lambda b: "{p50_ms} / {p99_ms}".format(
            **b["resets"]["known_c1"])),
        ("known reset c8 req/s (p99 ms)", lambda b: "{rps} ({p99_ms})".format(
            **b["resets"]["known_c8"])),
        ("sign-ins/s, 4 clients (p50 / p99 ms)", lambda b: "{rps} ({p50_ms} / {p99_ms})"
         .format(**b["sign_in"])),
        ("argon2id verifications/s (bound)", lambda b: str(b["argon2_bound_per_s"])),
        ("sign-ins / bound", lambda b: str(b["sign_in_vs_bound"])),
    ]
    rows += [(f"/mesa/?q={q} p50 / p99 ms", _search_cell(q)) for q in small["mesa_search"]]
    lines += [f"| {label} | {cell(small, get)} | {cell(big, get)} |" for label, get in rows]
    return lines


def inbox_table(data: dict[str, Any]) -> list[str]:
    lines = ["| rate | sent | achieved req/s | request p99 ms | inbox p50 ms | inbox p99 ms "
             "| missing |", "|---|---|---|---|---|---|---|"]
    for rate in (10, 100):
        row = data.get(f"inbox_{rate}")
        if row:
            lines.append(f"| {rate}/s | {row['sent']} | {row['achieved_rps']} | "
                         f"{row['request_p99_ms']} | {row['inbox_p50_ms']} | "
                         f"{row['inbox_p99_ms']} | {row['missing']} |")
    return lines


def markdown(data: dict[str, Any]) -> str:
    meta = data.get("meta", {})
    parts = [f"Run {meta.get('started')} ({meta.get('duration_s')} s), {meta.get('cpus')} CPUs,"
             f" {meta.get('web_workers')} gunicorn sync workers for both servers.", "",
             "Reset requests (POST only; closed loop):", "", *rates_table(data), "",
             "Time to inbox (instant sink, open loop):", "", *inbox_table(data), "",
             "Scale (instant sink):", "", *scale_table(data)]
    two = data.get("two_instances")
    if two:
        parts += ["", f"Two instances: {two['links']} of {two['requested']} links delivered;"
                  f" all redeemed on the other instance: {two['all_redeemed']}; all second uses"
                  f" refused: {two['all_second_uses_refused']}."]
    return "\n".join(parts)
