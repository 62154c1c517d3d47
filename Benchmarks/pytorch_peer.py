"""PyTorch peer for `recur bench` figures (issues 7 and 8): the same matmul shapes (TF32 off) and the
2-layer 512-wide char LSTM training step (embedding 512, vocab 65, batch 64 x seq 100, Adam), on CUDA
when available, else the CPU. Prints one line per row: op, shape, device, GFLOP/s or tokens/s.
Not run on the development machine (no PyTorch there)."""
import time, torch, torch.nn as nn

dev = "cuda" if torch.cuda.is_available() else "cpu"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

def sync():
    if dev == "cuda": torch.cuda.synchronize()

def timed(fn, repeats=7):
    fn(); sync()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); sync(); ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2]

for (b, m, n, k) in [(1, 256, 256, 256), (1, 512, 512, 512), (1, 64, 2048, 1024), (1, 4096, 4096, 4096), (64, 128, 128, 128)]:
    a = torch.randn(b, m, k, device=dev); c = torch.randn(b, k, n, device=dev)
    s = timed(lambda: torch.matmul(a, c))
    print(f"peer torch.matmul b{b} {m}x{n}x{k} {dev} {2 * b * m * n * k / s / 1e9:.1f} GFLOP/s")

class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(65, 512); self.rnn = nn.LSTM(512, 512, 2); self.fc = nn.Linear(512, 65)
    def forward(self, x):
        y, _ = self.rnn(self.embedding(x)); return self.fc(y)

model = CharLSTM().to(dev); opt = torch.optim.Adam(model.parameters(), 2e-3)
x = torch.randint(0, 65, (100, 64), device=dev); y = torch.randint(0, 65, (100, 64), device=dev)
def step():
    opt.zero_grad(); loss = nn.functional.cross_entropy(model(x).reshape(-1, 65), y.reshape(-1)); loss.backward(); opt.step()
s = timed(step, 5)
print(f"peer torch 2x512 LSTM training step {dev} {6400 / s:.0f} tokens/s ({s * 1e3:.1f} ms/step)")
