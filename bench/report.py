"""The Markdown tables of bench/run.py, with the targets of the benchmark issue."""

from __future__ import annotations

from typing import Any

import headline


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def rates_table(data: dict[str, Any], notes: list[str]) -> list[str]:
    lines = [
        "| sink | identifier | conc. | Portero req/s | p50 / p99 ms | stock req/s "
        "| p50 / p99 ms | Portero/stock |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for sink in ("sink_instant", "sink_50ms"):
        if sink not in data:
            continue
        block = data[sink]
        notes.append(
            f"{sink[5:]} sink: Portero's worker had {block['backlog_after_portero']} "
            "requests and messages left after Portero's phases; "
            + (
                f"drained in {block['drain_s']} s before the peer ran"
                if "drain_s" in block
                else f"{block.get('backlog_cancelled', 0)} cancelled before the peer ran"
            )
        )
        for key, row in data[sink]["portero"].items():
            peer = data[sink]["stock"][key]
            kind, conc = key.split("_c")
            lines.append(
                f"| {sink[5:]} | {kind} | {conc} | {row['rps']} | {row['p50_ms']} / "
                f"{row['p99_ms']} | {peer['rps']} | {peer['p50_ms']} / {peer['p99_ms']} | "
                f"{_ratio(row['rps'], peer['rps'])} |"
            )
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
        (
            "known reset c1 p50 / p99 ms",
            lambda b: "{p50_ms} / {p99_ms}".format(**b["resets"]["known_c1"]),
        ),
        (
            "known reset c8 req/s (p99 ms)",
            lambda b: "{rps} ({p99_ms})".format(**b["resets"]["known_c8"]),
        ),
        (
            "sign-ins/s, 4 clients (p50 / p99 ms)",
            lambda b: "{rps} ({p50_ms} / {p99_ms})".format(**b["sign_in"]),
        ),
        ("argon2id verifications/s (bound)", lambda b: str(b["argon2_bound_per_s"])),
        ("sign-ins / bound", lambda b: str(b["sign_in_vs_bound"])),
    ]
    rows += [(f"/mesa/?q={q} p50 / p99 ms", _search_cell(q)) for q in small["mesa_search"]]
    lines += [f"| {label} | {cell(small, get)} | {cell(big, get)} |" for label, get in rows]
    return lines


def inbox_table(data: dict[str, Any]) -> list[str]:
    lines = [
        "| rate | sent | achieved req/s | request p99 ms | inbox p50 ms | inbox p99 ms | missing |",
        "|---|---|---|---|---|---|---|",
    ]
    for rate in (10, 100):
        row = data.get(f"inbox_{rate}")
        if row:
            lines.append(
                f"| {rate}/s | {row['sent']} | {row['achieved_rps']} | "
                f"{row['request_p99_ms']} | {row['inbox_p50_ms']} | "
                f"{row['inbox_p99_ms']} | {row['missing']} |"
            )
    return lines


FLOW_STEPS = (
    ("authorize", "GET /o/authorize/ (to sign-in)"),
    ("sign_in_form", "GET /ingresar/ (form)"),
    ("sign_in", "POST /ingresar/ (argon2id)"),
    ("authorize_again", "GET /o/authorize/ (code)"),
    ("token", "POST /o/token/"),
    ("userinfo", "GET /o/userinfo/"),
)


def federation_table(data: dict[str, Any]) -> list[str]:
    block = data.get("federation")
    if not block:
        return []
    flows, token = block["code_flow"], block["token"]
    lines = [
        "| measure | value |",
        "|---|---|",
        f"| code flows/s, {flows['concurrency']} clients (p50 / p99 ms per flow) | "
        f"{flows['rps']} ({flows['p50_ms']} / {flows['p99_ms']}) |",
        f"| argon2id verifications/s (bound) | {block['argon2_bound_per_s']} |",
        f"| code flows / bound | {block['code_flow_vs_bound']} |",
        f"| load generator CPU per flow | {flows['generator_cpu_ms_per_flow']} ms |",
        f"| flows with an error | {flows['errors']} |",
    ]
    lines += [
        f"| in the flow: {label} p50 / p99 ms | {flows['steps'][key]['p50_ms']} / "
        f"{flows['steps'][key]['p99_ms']} |"
        for key, label in FLOW_STEPS
    ]
    alone = block.get("token_c1")
    if alone:
        lines.append(
            f"| token endpoint alone, 1 client: p50 / p99 ms ({alone['rps']} "
            f"requests/s) | {alone['p50_ms']} / {alone['p99_ms']} |"
        )
    lines += [
        f"| token endpoint alone, {token['concurrency']} clients: p50 / p99 ms | "
        f"{token['p50_ms']} / {token['p99_ms']} |",
        f"| token endpoint alone: requests/s ({token['requests']} requests, "
        f"{token['batches']} batches of prepared codes) | {token['rps']} |",
        f"| token requests with an error | {token['errors']} |",
    ]
    return lines


def _check(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _within(small: float, big: float, tolerance: float = 0.2) -> bool:
    return big <= small * (1 + tolerance)


def targets_table(data: dict[str, Any]) -> list[str]:
    """The targets of the benchmark issue, each with its figures from this run."""
    lines = ["| target | this run | met? |", "|---|---|---|"]
    instant, slow = data.get("sink_instant"), data.get("sink_50ms")
    if instant and slow:
        for label, block, want in (("instant", instant, 2.0), ("50 ms", slow, 5.0)):
            mine, peer = block["portero"]["known_c8"]["rps"], block["stock"]["known_c8"]["rps"]
            lines.append(
                f"| known resets/s at c8 >= {want:g}x stock, {label} sink | "
                f"{_ratio(mine, peer)} ({mine} vs {peer}) | "
                f"{_check(mine >= want * peer)} |"
            )
        fast, late = instant["portero"]["known_c8"], slow["portero"]["known_c8"]
        lines.append(
            f"| Portero's own rate, 50 ms sink >= 0.9 of instant | "
            f"{late['rps'] / fast['rps']:.2f} ({late['rps']} / {fast['rps']}) | "
            f"{_check(late['rps'] >= 0.9 * fast['rps'])} |"
        )
        worst = max(fast["p99_ms"], late["p99_ms"])
        lines.append(
            f"| Portero's p99 < 50 ms (known, c8) | {fast['p99_ms']} ms instant, "
            f"{late['p99_ms']} ms 50 ms sink | {_check(worst < 50)} |"
        )
    inbox = data.get("inbox_100")
    if inbox:
        lines.append(
            f"| time to inbox p99 < 2 s at 100 requests/s | {inbox['inbox_p99_ms']} ms "
            f"({inbox['achieved_rps']} req/s achieved, {inbox['missing']} missing) | "
            f"{_check(inbox['inbox_p99_ms'] < 2000 and not inbox['missing'])} |"
        )
    fed = data.get("federation")
    if fed:
        flows, token = fed["code_flow"], fed["token"]
        lines.append(
            f"| code flows/s >= 0.6 of the argon2 bound, {flows['concurrency']} "
            f"clients | {fed['code_flow_vs_bound']} ({flows['rps']} / "
            f"{fed['argon2_bound_per_s']}) | "
            f"{_check(fed['code_flow_vs_bound'] >= 0.6 and not flows['errors'])} |"
        )
        lines.append(
            f"| token endpoint p99 < 25 ms at c{token['concurrency']} | "
            f"{token['p99_ms']} ms (p50 {token['p50_ms']} ms) | "
            f"{_check(token['p99_ms'] < 25 and not token['errors'])} |"
        )
    small, big = data.get("users_1000"), data.get("users_1000000")
    for key, block in (("1,000", small), ("1,000,000", big)):
        if block:
            lines.append(
                f"| sign-ins/s >= 0.8 of the argon2 bound, {key} users | "
                f"{block['sign_in_vs_bound']} ({block['sign_in']['rps']} / "
                f"{block['argon2_bound_per_s']}) | "
                f"{_check(block['sign_in_vs_bound'] >= 0.8)} |"
            )
    if small and big:
        pairs = [
            (
                "known reset c1 p50",
                small["resets"]["known_c1"]["p50_ms"],
                big["resets"]["known_c1"]["p50_ms"],
            ),
            (
                "known reset c8 p50",
                small["resets"]["known_c8"]["p50_ms"],
                big["resets"]["known_c8"]["p50_ms"],
            ),
            ("sign-in p50", small["sign_in"]["p50_ms"], big["sign_in"]["p50_ms"]),
        ]
        pairs += [
            (f"search {q} p50", small["mesa_search"][q]["p50_ms"], big["mesa_search"][q]["p50_ms"])
            for q in small["mesa_search"]
        ]
        for label, a, b in pairs:
            lines.append(
                f"| {label} at 1,000,000 users within 20 % of 1,000 | {a} -> {b} ms "
                f"({(b / a - 1) * 100:+.0f} %) | {_check(_within(a, b))} |"
            )
    return lines


def markdown(data: dict[str, Any]) -> str:
    meta = data.get("meta", {})
    notes: list[str] = []
    parts = [
        f"Run {meta.get('started')} ({meta.get('duration_s')} s), {meta.get('cpus')} CPUs,"
        f" {meta.get('web_workers')} gunicorn sync workers for both servers,"
        f" {meta.get('worker_processes', 1)} `portero worker` process(es)"
        + (f", only the {meta['only']} phases" if meta.get("only") else "")
        + (f", commit {meta['commit']}" if meta.get("commit") else "")
        + (" with uncommitted changes in src/" if meta.get("src_modified") else "")
        + ".",
        "",
    ]
    if any(k.startswith("headline_") for k in data):
        parts += [
            "Headline: known-user reset requests at concurrency 8 (instant sink), the "
            "worker's write transactions, the queue after a saturation phase:",
            "",
            *headline.table(data),
            "",
        ]
    if "sink_instant" in data:
        parts += [
            "Reset requests (POST only; closed loop):",
            "",
            *rates_table(data, notes),
            "",
            *notes,
            "",
            "Time to inbox (instant sink, open loop):",
            "",
            *inbox_table(data),
            "",
            "Scale (instant sink):",
            "",
            *scale_table(data),
            "",
        ]
    if "federation" in data:
        parts += ["OpenID Connect (instant sink):", "", *federation_table(data), ""]
    targets = targets_table(data)
    if len(targets) > 2:  # more than the header: the PostgreSQL phases ran
        parts += ["Targets:", "", *targets]
    two = data.get("two_instances")
    if two:
        parts += [
            "",
            f"Two instances: {two['links']} of {two['requested']} links delivered;"
            f" all redeemed on the other instance: {two['all_redeemed']}; all second uses"
            f" refused: {two['all_second_uses_refused']}.",
        ]
    return "\n".join(parts)
