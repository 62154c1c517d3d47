#!/usr/bin/env python3
"""Markdown tables from the benchmark rows in Benchmarks/results (standard library only).

    python3 Scripts/perf-tables.py                               # the tables of docs/PERFORMANCE.md
    python3 Scripts/perf-tables.py FILE.json ...                 # a table for each result file
    python3 Scripts/perf-tables.py --check docs/PERFORMANCE.md   # exit 1 unless the file holds every table

Rows are what `recur bench --json FILE` writes. Training rows (`--suite train`) give a workload's
speed (`unitsPerSecond`) and peak memory (`peakMB`) on a device, with `round` when `--rounds` ran
Recur and PyTorch (`peer`) alternating. A speed is the median of the rounds, a ratio Recur ÷ PyTorch
the median of the rounds' own ratios (min–max after it), a memory figure the median peak. Op rows
(`--suite matmul|conv|recurrent|all`) give milliseconds and GFLOP/s per op, shape and device.
"""

import argparse
import json
import os
import statistics
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Benchmarks", "results")

# The training workloads in `recur bench --suite train` order: name, short name, target (Recur ÷
# PyTorch speed), default (batch, sequence).
WORKLOADS = {
    "lstm-big": ("char LSTM 512×2", "char LSTM", 1.0, (64, 100)),
    "lstm-small": ("small LSTM 128", "small LSTM", 1.5, (32, 64)),
    "rnn": ("tanh RNN 512", "tanh RNN", 1.5, (64, 100)),
    "textcnn": ("text CNN", "text CNN", 1.5, (64, 256)),
    "lstm-infer": ("char LSTM inference", "inference", 1.2, (64, 100)),
}

# The tables docs/PERFORMANCE.md shows, each from its result files.
DOC_TABLES = [
    ("peer", ["train-cpu-t1-avx2.json", "train-cpu-t2-avx2.json"]),
    ("devices", ["train-pocl-t2-avx2.json"]),
    ("scaling", ["scaling-small-rnn-infer-cpu-t2-avx2.json"]),
]


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


median = statistics.median


def times(x):
    return f"{x:.2f}x"


def megabytes(x):
    return str(int(x + 0.5))


def rates(values):
    """Speeds side by side: thousands with one decimal (k) from 10,000 up, else whole numbers."""
    if max(values) >= 10_000:
        return [f"{v / 1000:.1f}k" for v in values]
    return [f"{int(v + 0.5):,}" for v in values]


def shape(row, key, default):
    """A row's `batch` or `sequence` (spelled `seq` in some rows), else the default."""
    if key == "sequence" and "sequence" not in row:
        return row.get("seq", default)
    return row.get(key, default)


def order(rows):
    """The workloads of the rows, in the suite's order."""
    names = {r["workload"] for r in rows}
    return [w for w in WORKLOADS if w in names] + sorted(names - set(WORKLOADS))


def label(workload, rows):
    """`char LSTM 512×2, batch 64×100`: the workload and the shape its rows ran (batch × sequence)."""
    name, _, _, (batch, sequence) = WORKLOADS.get(workload, (workload, workload, None, (None, None)))
    if rows:
        batch, sequence = shape(rows[0], "batch", batch), shape(rows[0], "sequence", sequence)
    if batch is None:
        return name
    if workload == "textcnn" or sequence is None:
        return f"{name}, batch {batch}"
    return f"{name}, batch {batch}×{sequence}"


def runs(rows, workload, device):
    """The rows of one workload on one device, keyed by round (0 for a one-round run)."""
    return {r.get("round", 0): r for r in rows if r["workload"] == workload and r["device"] == device}


def peer_device(rows, workload):
    devices = {r["device"] for r in rows if r["workload"] == workload and r.get("peer")}
    return min(devices) if devices else None


def own_devices(rows, workload):
    devices = {r["device"] for r in rows if r["workload"] == workload and not r.get("peer")}
    return sorted(devices, key=lambda d: (d != "cpu", d))


def versus(ours, theirs, bold=True):
    """`**1.53x** (1.33–1.58): 3,773 vs 2,501`: the median ratio over the rounds both ran, its range, the speeds."""
    common = sorted(set(ours) & set(theirs))
    ratios = [ours[k]["unitsPerSecond"] / theirs[k]["unitsPerSecond"] for k in common]
    ratio = times(median(ratios))
    cell = f"**{ratio}**" if bold else ratio
    if len(ratios) > 1:
        cell += f" ({min(ratios):.2f}–{max(ratios):.2f})"
    a, b = rates([median(ours[k]["unitsPerSecond"] for k in ours), median(theirs[k]["unitsPerSecond"] for k in theirs)])
    return f"{cell}: {a} vs {b}"


def memory(ours, theirs):
    """`266 / 688 MB (0.39x)`: median peaks and their ratio."""
    a = median(r["peakMB"] for r in ours.values())
    if not theirs:
        return f"{megabytes(a)} MB"
    b = median(r["peakMB"] for r in theirs.values())
    return f"{megabytes(a)} / {megabytes(b)} MB ({times(a / b)})"


def speed(ours):
    values = [r["unitsPerSecond"] for r in ours.values()]
    return rates([median(values)])[0]


def table(header, body):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def threads_of(name, rows):
    counts = {r["threads"] for r in rows if "threads" in r}
    if len(counts) == 1:
        return counts.pop()
    for part in os.path.basename(name).split("-"):
        if part.startswith("t") and part[1:].isdigit():
            return int(part[1:])
    return None


def peer_table(files):
    """Recur's CPU device against PyTorch, one column pair (speed, memory) per file, e.g. per thread count."""
    data = [load(f) for f in files]
    counts = [threads_of(f, rows) for f, rows in zip(files, data)]
    heads = [f"{t} thread{'s' if t != 1 else ''}" if t else os.path.basename(f) for f, t in zip(files, counts)]
    header = ["workload", "target"] + heads + [f"peak memory, {h}" for h in heads]
    body = []
    for w in order(data[0]):
        speeds, mems = [], []
        for rows in data:
            ours, theirs = runs(rows, w, "cpu"), runs(rows, w, peer_device(rows, w))
            speeds.append(versus(ours, theirs) if ours and theirs else "")
            mems.append(memory(ours, theirs) if ours else "")
        target = f"≥ {WORKLOADS[w][2]:.1f}x" if w in WORKLOADS else ""
        body.append([label(w, list(runs(data[0], w, "cpu").values())), target] + speeds + mems)
    return table(header, body)


def device_table(files):
    """Every device of one run against PyTorch (or alone where the run has no peer rows)."""
    rows = [r for f in files for r in load(f)]
    header = ["workload", "device", "÷ PyTorch (min–max): tokens/s", "peak memory"]
    body = []
    for w in order(rows):
        peer = peer_device(rows, w)
        theirs = runs(rows, w, peer) if peer else {}
        for d in own_devices(rows, w):
            ours = runs(rows, w, d)
            body.append([WORKLOADS.get(w, (w,))[0], "PoCL" if d.startswith("opencl") else "CPU device" if d == "cpu" else d,
                         versus(ours, theirs, bold=False) if theirs else speed(ours), memory(ours, theirs)])
    return table(header, body)


def spread(values):
    mean = sum(values) / len(values)
    low, high = min(values) / mean - 1, max(values) / mean - 1
    return f"(−{abs(low) * 100:.0f}% / +{high * 100:.0f}%)"


def sweeps(rows, batch, sequence):
    """One workload's rows split into its sweep over T (at its batch) and over batch (at its T).

    Each sweep runs the default shape once, so a default-shape row belongs to the T sweep when it is the
    first of two, or when there is no batch sweep; with one such row and both sweeps, to the sweep of
    the row next to it in the file."""
    at = [(shape(r, "sequence", sequence), shape(r, "batch", batch), r["unitsPerSecond"]) for r in rows]
    home = [i for i, (t, b, _) in enumerate(at) if (t, b) == (sequence, batch)]
    over_t = [(t, v) for t, b, v in at if b == batch and t != sequence]
    over_b = [(b, v) for t, b, v in at if t == sequence and b != batch]
    if home:
        has_t, has_b = bool(over_t), bool(over_b)
        if len(home) == 1 and has_t and has_b:
            i = home[0]
            next_t = (at[i - 1] if i > 0 else at[i + 1])[0]
            has_t, has_b = next_t != sequence, next_t == sequence
        if has_t or not has_b:
            over_t.append((sequence, at[home[0]][2]))
        if has_b or not has_t:
            over_b.append((batch, at[home[-1]][2]))
    return dict(over_t), dict(over_b)


def sweep(points):
    """`170.3k / 185.5k / ... (−17% / +18%)`: the speeds and how far the slowest and fastest lie from their mean."""
    values = [v for v in points if v is not None]
    if len(values) < 2:
        return ""
    text = iter(rates(values))
    return " / ".join(next(text) if v is not None else "–" for v in points) + " " + spread(values)


def scaling_table(files):
    """Tokens/s over sequence lengths (at the workload's batch) and batch sizes (at its sequence length)."""
    rows = [r for f in files for r in load(f)]
    plan = {}
    for w in order(rows):
        batch, sequence = WORKLOADS.get(w, (None, None, None, (None, None)))[3]
        plan[w] = sweeps([r for r in rows if r["workload"] == w], batch, sequence)
    sequences = sorted({t for over_t, _ in plan.values() for t in over_t})
    batches = sorted({b for _, over_b in plan.values() for b in over_b})
    header = ["workload", "T = " + " / ".join(map(str, sequences)) + " (tokens/s)",
              "batch " + " / ".join(map(str, batches))]
    body = [[WORKLOADS.get(w, (w, w))[1], sweep([over_t.get(t) for t in sequences]), sweep([over_b.get(b) for b in batches])]
            for w, (over_t, over_b) in plan.items()]
    return table(header, body)


def op_table(files):
    """Milliseconds (GFLOP/s) per op and shape, one column per device."""
    rows = [r for f in files for r in load(f)]
    devices = []
    for r in rows:
        if r["device"] not in devices:
            devices.append(r["device"])
    cases = []
    for r in rows:
        if (r["op"], r["shape"]) not in cases:
            cases.append((r["op"], r["shape"]))
    cell = {(r["op"], r["shape"], r["device"]): f"{r['ms']:.3g} ms ({r['gflops']:.0f})" for r in rows}
    body = [[op, s] + [cell.get((op, s, d), "") for d in devices] for op, s in cases]
    return table(["op", "shape"] + [f"{d}, ms (GFLOP/s)" for d in devices], body)


def kind(rows):
    if rows and "op" in rows[0]:
        return "ops"
    if any(r.get("peer") for r in rows):
        return "devices" if any(r["device"] != "cpu" and not r.get("peer") for r in rows) else "peer"
    shapes = {(r["workload"], shape(r, "batch", None), shape(r, "sequence", None)) for r in rows}
    return "scaling" if len(shapes) > len({r["workload"] for r in rows}) else "devices"


MAKERS = {"peer": peer_table, "devices": device_table, "scaling": scaling_table, "ops": op_table}


def render(kind_, files):
    names = " ".join(os.path.basename(f) for f in files)
    return f"<!-- python3 Scripts/perf-tables.py: {names} -->\n" + MAKERS[kind_](files)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="result files (default: the files docs/PERFORMANCE.md shows)")
    parser.add_argument("--check", metavar="DOC", help="exit 1 unless DOC holds every table verbatim")
    args = parser.parse_args()
    if args.files:
        tables = [render(kind(load(f)), [f]) for f in args.files]
    else:
        tables = [render(k, [os.path.join(RESULTS, f) for f in fs]) for k, fs in DOC_TABLES]
    if args.check:
        with open(args.check, encoding="utf-8") as f:
            text = f.read()
        stale = [t.splitlines()[0] for t in tables if t not in text]
        for line in stale:
            print(f"{args.check}: not as generated: {line}", file=sys.stderr)
        return 1 if stale else 0
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
