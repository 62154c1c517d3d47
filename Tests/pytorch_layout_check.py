"""Independent check that a Recur model.safetensors is laid out as PyTorch's state_dict: parses the file
with the standard library and numpy (not Recur's reader), runs nn.Embedding -> nn.LSTM/nn.GRU/nn.RNN ->
nn.Linear with the equations and weight layouts of PyTorch's documentation in float64, and prints the
logits of every position as JSON. Usage: pytorch_layout_check.py MODEL.safetensors TOKEN [TOKEN ...]"""
import json, struct, sys
import numpy as np

path, tokens = sys.argv[1], [int(t) for t in sys.argv[2:]]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
meta = header.pop("__metadata__")
cfg = json.loads(meta["recur.config"])
W = {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]], dtype="<f4").astype(np.float64).reshape(v["shape"])
     for k, v in header.items()}
sig = lambda x: 1 / (1 + np.exp(-x))
H, cell = cfg["hidden"], cfg["cell"]
x = W["embedding.weight"][tokens]                      # nn.Embedding: rows of the table
for l in range(cfg["layers"]):
    wih, whh, bih, bhh = (W[f"rnn.{p}_l{l}"] for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    h, c, out = np.zeros(H), np.zeros(H), []
    for xt in x:
        gi, gh = wih @ xt + bih, whh @ h + bhh            # weight_ih: (gates*H, in), weight_hh: (gates*H, H)
        if cell == "lstm":                                 # gate order i, f, g, o
            i, f, g, o = sig(gi[:H] + gh[:H]), sig(gi[H:2*H] + gh[H:2*H]), np.tanh(gi[2*H:3*H] + gh[2*H:3*H]), sig(gi[3*H:] + gh[3*H:])
            c = f * c + i * g; h = o * np.tanh(c)
        elif cell == "gru":                                # gate order r, z, n; n = tanh(W_in x + b_in + r*(W_hn h + b_hn))
            r, z = sig(gi[:H] + gh[:H]), sig(gi[H:2*H] + gh[H:2*H])
            nn_ = np.tanh(gi[2*H:] + r * gh[2*H:]); h = (1 - z) * nn_ + z * h
        else:
            h = np.tanh(gi + gh) if cell == "rnn" else np.maximum(0, gi + gh)
        out.append(h)
    x = np.array(out)
logits = x @ W["fc.weight"].T + W["fc.bias"]          # nn.Linear: weight (out, in)
print(json.dumps(logits.tolist()))
