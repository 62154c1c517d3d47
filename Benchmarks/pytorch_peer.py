"""PyTorch peer for `recur bench`.

  python3 Benchmarks/pytorch_peer.py --workload NAME [--threads N] [--steps S] [--seq T] [--batch B]
      One training workload of `recur bench --suite train` (the same model, batch and Adam), on the CPU
      (or CUDA when available and --cuda is given). Prints one JSON line as its last line:
      {"workload", "device", "units", "unitsPerSecond", "spread", "peakMB", "peer": true}.
      peakMB is the process's peak resident memory (VmHWM), import of torch included.
  python3 Benchmarks/pytorch_peer.py --matmul [--cuda]
      The matmul shapes of `recur bench --suite matmul` (TF32 off), one line per shape.
"""
import argparse, json, resource, time

import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--workload")
p.add_argument("--threads", type=int, default=0)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--seq", type=int, default=0)
p.add_argument("--batch", type=int, default=0)
p.add_argument("--matmul", action="store_true")
p.add_argument("--cuda", action="store_true")
a = p.parse_args()

if a.threads > 0:
    torch.set_num_threads(a.threads)
dev = "cuda" if a.cuda and torch.cuda.is_available() else "cpu"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def sync():
    if dev == "cuda":
        torch.cuda.synchronize()


def times(fn, repeats):
    for _ in range(2):
        fn()
    sync()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); sync(); ts.append(time.perf_counter() - t)
    return sorted(ts)


if a.matmul:
    for (b, m, n, k) in [(1, 256, 256, 256), (1, 512, 512, 512), (1, 1024, 1024, 1024), (1, 64, 2048, 1024), (64, 128, 128, 128)]:
        x = torch.randn(b, m, k, device=dev); y = torch.randn(b, k, n, device=dev)
        s = times(lambda: torch.matmul(x, y), 7)
        print(f"peer torch.matmul b{b} {m}x{n}x{k} {dev} {2 * b * m * n * k / s[len(s) // 2] / 1e9:.1f} GFLOP/s")
    raise SystemExit(0)


class CharModel(nn.Module):
    def __init__(self, cell, emb, hidden, layers):
        super().__init__()
        self.embedding = nn.Embedding(65, emb)
        self.rnn = {"lstm": nn.LSTM, "rnn": nn.RNN}[cell](emb, hidden, layers)
        self.fc = nn.Linear(hidden, 65)

    def forward(self, x):
        y, _ = self.rnn(self.embedding(x))
        return self.fc(y)


class TextCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(65, 64)
        self.convs = nn.ModuleList([nn.Conv1d(64, 128, k) for k in (3, 4, 5)])
        self.fc = nn.Linear(3 * 128, 10)

    def forward(self, x):
        e = self.embedding(x).transpose(1, 2)
        return self.fc(torch.cat([torch.relu(c(e)).amax(dim=2) for c in self.convs], 1))


workloads = {
    "lstm-big": ("lstm", 512, 512, 2, 64, 100),
    "lstm-small": ("lstm", 128, 128, 1, 32, 64),
    "rnn": ("rnn", 512, 512, 1, 64, 100),
    "lstm-infer": ("lstm", 512, 512, 2, 64, 100),
}
w = a.workload
if w == "textcnn":
    T, B = a.seq or 256, a.batch or 64
    model = TextCNN().to(dev)
    x = torch.randint(0, 65, (B, T), device=dev); y = torch.randint(0, 10, (B,), device=dev)
    loss_of = lambda: nn.functional.cross_entropy(model(x), y)
    units, unit_name = B, "samples"
elif w in workloads:
    cell, emb, hidden, layers, B, T = workloads[w]
    T, B = a.seq or T, a.batch or B
    model = CharModel(cell, emb, hidden, layers).to(dev)
    x = torch.randint(0, 65, (T, B), device=dev); y = torch.randint(0, 65, (T, B), device=dev)
    loss_of = lambda: nn.functional.cross_entropy(model(x).reshape(-1, 65), y.reshape(-1))
    units, unit_name = B * T, "tokens"
else:
    raise SystemExit(f"unknown workload {w!r}")

opt = torch.optim.Adam(model.parameters(), 2e-3)


def train_step():
    opt.zero_grad(); loss = loss_of(); loss.backward(); opt.step()


def infer_step():
    with torch.no_grad():
        model(x)


s = times(infer_step if w == "lstm-infer" else train_step, a.steps)
median = s[len(s) // 2]
def peak_mb():
    # VmHWM starts afresh at exec; ru_maxrss keeps the parent's high-water mark across fork and exec.
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


peak = peak_mb()
print(json.dumps({"workload": w, "device": "pytorch-" + dev, "units": unit_name, "unitsPerSecond": units / median,
                  "spread": (s[-1] - s[0]) / median, "peakMB": peak, "peer": True}))
