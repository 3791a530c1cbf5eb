#!/usr/bin/env python3
"""
PyTorch peer of bench/resnet.ts: the same models (torchvision ResNet-50 layout, last stride 1,
BN neck, L2 norm; MLA = PLA -> HLA -> DLA in place of layer4's 3x3 convs, written here from the
same formulas as nn/attention/) timed the same way. Prints one JSON line per measurement.

  /usr/bin/python3 bench/resnet_peer.py THREADS CONFIG_JSON
"""
import json, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.resnet import Bottleneck


class PLA(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):  # eq. (3)
        return x * torch.sigmoid(self.conv(x))


class HLA(nn.Module):
    def __init__(self, c, h, w, heads=4):
        super().__init__()
        self.heads, self.d = heads, c // heads
        self.query, self.key, self.value = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
        self.rel_h = nn.Parameter(torch.randn(heads, self.d, h))
        self.rel_w = nn.Parameter(torch.randn(heads, self.d, w))

    def forward(self, x):
        n, c, h, w = x.shape
        q = self.query(x).view(n * self.heads, self.d, h * w)
        k = self.key(x).view(n, self.heads, self.d, h * w)
        v = self.value(x).view(n * self.heads, self.d, h * w)
        pos = (self.rel_h[:, :, :, None] + self.rel_w[:, :, None, :]).view(self.heads, self.d, h * w)
        logits = torch.bmm(q.transpose(1, 2), (k + pos).view(n * self.heads, self.d, h * w)) / self.d ** 0.5
        return torch.bmm(v, logits.softmax(-1).transpose(1, 2)).view(n, c, h, w)


class DLA(nn.Module):
    def __init__(self, c, ck=64):
        super().__init__()
        self.query = nn.Conv2d(c, c, 1)
        self.k_d = nn.Conv2d(c, ck, 1, bias=False)
        self.v_d = nn.Conv2d(ck, c, 1, bias=False)
        self.v_d.weight.data = self.k_d.weight.data.permute(1, 0, 2, 3).clone()

    def forward(self, x):  # eqs. (4)-(6)
        n, c, h, w = x.shape
        a = self.k_d(self.query(x)).view(n, -1, h * w).softmax(-1)
        a = a / (1e-9 + a.sum(1, keepdim=True))
        return x + self.v_d(a.view(n, -1, h, w))


class Model(nn.Module):
    def __init__(self, depths, width, size, mla):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        h, w = size[0] // 16, size[1] // 16
        inplanes, layers = width, []
        for i, n in enumerate(depths):
            planes, stride = width * 2 ** i, (1 if i in (0, 3) else 2)
            blocks = []
            for b in range(n):
                ds = None
                if b == 0 and (stride != 1 or inplanes != planes * 4):
                    ds = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))
                blk = Bottleneck(inplanes, planes, stride if b == 0 else 1, ds)
                if i == 3 and mla:
                    blk.conv2 = nn.Sequential(PLA(planes), HLA(planes, h, w), DLA(planes))
                blocks.append(blk)
                inplanes = planes * 4
            layers.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*layers)
        self.feat_bn = nn.BatchNorm1d(inplanes)
        self.feat_bn.bias.requires_grad_(False)

    def forward(self, x):
        x = self.layers(self.maxpool(F.relu(self.bn1(self.conv1(x)))))
        return F.normalize(self.feat_bn(x.mean((2, 3))))


def main():
    threads = int(sys.argv[1])
    cfg = json.loads(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = Model(cfg['depths'], cfg['width'], cfg['size'], cfg['mla'])
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1.6e-4, weight_decay=5e-4)
    xe = torch.randn(cfg['extract_batch'], 3, *cfg['size'])
    xt = torch.randn(cfg['train_batch'], 3, *cfg['size'])
    target = F.normalize(torch.randn(cfg['train_batch'], m.feat_bn.num_features))
    m.eval()
    with torch.no_grad():
        m(xe)  # warm-up
        t0 = time.perf_counter()
        for _ in range(cfg['iters']):
            m(xe)
        dt = (time.perf_counter() - t0) / cfg['iters']
    print(json.dumps({'metric': 'extract', 'seconds': dt, 'images': cfg['extract_batch']}), flush=True)
    m.train()

    def step():
        opt.zero_grad()
        loss = -(m(xt) * target).sum(1).mean()
        loss.backward()
        opt.step()
    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(cfg['iters']):
        step()
    dt = (time.perf_counter() - t0) / cfg['iters']
    print(json.dumps({'metric': 'train', 'seconds': dt, 'images': cfg['train_batch']}), flush=True)


if __name__ == '__main__':
    main()
