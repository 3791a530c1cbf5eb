"""PyTorch peer of gpu/device/resnet-step.ts (run on the GPU machine by run-on-gpu.sh).

The same models as bench/resnet_peer.py (ResNet-50 layout, last stride 1, BN neck, L2 norm; with
MLA: PLA -> HLA -> DLA in place of layer4's 3x3 convs), on CUDA, float32 (TF32 off), and the same
iteration as reid/train/step.ts: forward, ClusterNCE (tau 0.05) against a memory of 500 unit rows,
backward, Adam, then the batch-hard memory update (momentum 0.1); batch 64 of 16 clusters x 4,
256x128. Then feature extraction (eval, no grad) of 64 images with the features brought to the host.
Prints, per model, the median iteration time over 20 after 5 warm-up iterations and the extraction
time, as JSON lines.
"""
import json, os, statistics, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench'))
from resnet_peer import Model  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = torch.device("cuda")
B, CLUSTERS, TAU, MOMENTUM = 64, 500, 0.05, 0.1


def hard_update(memory, f, labels):
    """For each cluster in the batch: its sample with the lowest f . m, then m <- normalise(mu m + (1 - mu) f)."""
    sims = (f * memory[labels]).sum(1)
    for k in labels.unique():
        idx = (labels == k).nonzero().squeeze(1)
        h = idx[sims[idx].argmin()]
        memory[k] = F.normalize(MOMENTUM * memory[k] + (1 - MOMENTUM) * f[h], dim=0)


for mla in (False, True):
    torch.manual_seed(0)
    model = Model([3, 4, 6, 3], 64, (256, 128), mla).to(dev).train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1.6e-4, weight_decay=5e-4)
    memory = F.normalize(torch.randn(CLUSTERS, model.feat_bn.num_features, device=dev), dim=1)
    labels = torch.tensor([(7 * (i // 4)) % CLUSTERS for i in range(B)], device=dev)

    def step():
        x = torch.randn(B, 3, 256, 128).to(dev)  # a new batch from the host, as the loader gives one
        opt.zero_grad(set_to_none=True)
        f = model(x)
        loss = F.cross_entropy(f @ memory.t() / TAU, labels)  # eq. (1)
        loss.backward()
        opt.step()
        with torch.no_grad():
            hard_update(memory, f.detach(), labels)
        return loss.item()

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    ts = []
    for _ in range(20):
        t0 = time.perf_counter(); step(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        model(torch.randn(B, 3, 256, 128).to(dev)).cpu()
        x = torch.randn(B, 3, 256, 128)
        t0 = time.perf_counter(); model(x.to(dev)).cpu(); extract = time.perf_counter() - t0
    name = "ResNet-50" + (" + MLA" if mla else "")
    print(json.dumps({"case": f"PyTorch {name} training iteration {B}x3x256x128", "median_s": statistics.median(ts),
                      "extract_s": extract, "market1501_extract_s": 12936 / (B / extract),
                      "device": torch.cuda.get_device_name(0), "torch": torch.__version__}), flush=True)
