"""PyTorch peer for the ResNet-50 training-step benchmark (run on the GPU machine by run-on-gpu.sh).

One step = forward + cross-entropy-like loss + backward + Adam update, ResNet-50 (torchvision layout,
last stride 1 as in the re-ID baseline), input 256x128, batch 64, float32 (TF32 off), CUDA.
Prints median step time over 20 steps after 5 warm-up steps, as JSON.
"""
import json, time, statistics
import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
try:
    import torchvision
    model = torchvision.models.resnet50(weights=None)
    model.layer4[0].conv2.stride = (1, 1)
    model.layer4[0].downsample[0].stride = (1, 1)
    model.fc = torch.nn.Identity()
    name = "torchvision resnet50 (last stride 1)"
except ImportError:
    raise SystemExit("torchvision missing: cannot build the ResNet-50 peer")
dev = torch.device("cuda")
model = model.to(dev).train()
opt = torch.optim.Adam(model.parameters(), lr=1.6e-4, weight_decay=5e-4)
x = torch.randn(64, 3, 256, 128, device=dev)
memory = torch.nn.functional.normalize(torch.randn(500, 2048, device=dev), dim=1)
labels = torch.randint(0, 500, (64,), device=dev)

def step():
    opt.zero_grad(set_to_none=True)
    f = torch.nn.functional.normalize(model(x), dim=1)
    loss = torch.nn.functional.cross_entropy(f @ memory.t() / 0.05, labels)  # ClusterNCE shape
    loss.backward()
    opt.step()

for _ in range(5):
    step()
torch.cuda.synchronize()
ts = []
for _ in range(20):
    t0 = time.perf_counter(); step(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t0)
print(json.dumps({"case": f"{name} train step 64x3x256x128", "median_s": statistics.median(ts),
                  "device": torch.cuda.get_device_name(0), "torch": torch.__version__}))
