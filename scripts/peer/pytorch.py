#!/usr/bin/python3
"""The corefit seed model trained with PyTorch, so `corefit bench --peer pytorch` can
show corefit beside what a user would otherwise run.

Same model as corefit's default: 784-128-64-28-64-128-784, relu, sigmoid output with
binary cross-entropy (fused into BCE-with-logits), glorot-uniform kernels, zero biases,
Adam(lr 1e-3, betas 0.9/0.999, eps 1e-7), MNIST pixels / 255 read from the IDX files.

Modes (one JSON object per line on stdout, camelCase keys as corefit's --json):
  throughput        one process, --threads T intra-op threads, batch B, N timed steps
  ddp               DistributedDataParallel with gloo over P processes on 127.0.0.1,
                    one thread each, global batch B split evenly
  time-to-quality   E epochs at batch B; after each, test BCE and the training wall time

Exit codes: 0 ok, 2 bad arguments, 3 PyTorch missing, 4 unreadable data.
"""
import argparse
import gzip
import json
import os
import socket
import struct
import sys
import time
from datetime import timedelta

try:
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    import torch.nn.functional as F
    from torch import nn
except ImportError as e:
    sys.stderr.write(
        f"pytorch.py: PyTorch is not importable by {sys.executable} ({e}). "
        "Install it (Debian: apt-get install python3-torch; elsewhere: pip install torch).\n"
    )
    sys.exit(3)

LAYER_SIZES = [784, 128, 64, 28, 64, 128, 784]
EXIT_DATA = 4


class DataFileError(Exception):
    pass


def read_idx_images(path):
    """An IDX3 ubyte file (raw or .gz) as a float32 [n, rows*cols] tensor in [0, 1]."""
    candidates = [path, path + ".gz"]
    found = next((p for p in candidates if os.path.exists(p)), None)
    if found is None:
        raise DataFileError(f"{path}: no such file (nor {path}.gz)")
    opener = gzip.open if found.endswith(".gz") else open
    with opener(found, "rb") as f:
        data = f.read()
    if len(data) < 16:
        raise DataFileError(f"{found}: too short for an IDX header")
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 0x00000803 or len(data) != 16 + n * rows * cols:
        raise DataFileError(f"{found}: not an IDX3 ubyte image file (magic {magic:#x}, {len(data)} bytes)")
    pixels = torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=16)
    return pixels.view(n, rows * cols).float().div_(255.0)


def load_mnist(data_dir):
    train = read_idx_images(os.path.join(data_dir, "train-images-idx3-ubyte"))
    test = read_idx_images(os.path.join(data_dir, "t10k-images-idx3-ubyte"))
    if train.shape[1] != LAYER_SIZES[0]:
        raise DataFileError(f"{data_dir}: images have {train.shape[1]} pixels, the model takes {LAYER_SIZES[0]}")
    return train, test


def build_model(seed):
    """Outputs logits; the sigmoid lives in the loss (BCE with logits) for stability."""
    torch.manual_seed(seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(LAYER_SIZES, LAYER_SIZES[1:])):
        linear = nn.Linear(fan_in, fan_out)
        # Keras defaults, not PyTorch's kaiming-uniform.
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(LAYER_SIZES) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def make_optimizer(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)


def train_step(model, optimizer, batch):
    optimizer.zero_grad(set_to_none=True)
    loss = F.binary_cross_entropy_with_logits(model(batch), batch)
    loss.backward()
    optimizer.step()
    return loss


def batch_indices(n, batch, seed):
    """Endless row indices, batch by batch, each epoch a fresh permutation (drops the ragged tail)."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        perm = torch.randperm(n, generator=generator)
        for start in range(0, n - batch + 1, batch):
            yield perm[start:start + batch]


def timed_steps(model, optimizer, train, indices, warmup, steps, sync=lambda: None):
    """Seconds for `steps` steps after `warmup` untimed ones."""
    for _ in range(warmup):
        train_step(model, optimizer, train.index_select(0, next(indices)))
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        train_step(model, optimizer, train.index_select(0, next(indices)))
    sync()
    return time.perf_counter() - start


def emit(record):
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, **record}), flush=True)


def run_throughput(args, train, _test):
    torch.set_num_threads(args.threads)
    model = build_model(args.seed)
    seconds = timed_steps(model, make_optimizer(model), train, batch_indices(len(train), args.batch, args.seed),
                          args.warmup, args.steps)
    emit({"mode": "throughput", "workers": args.threads, "batch": args.batch, "steps": args.steps,
          "seconds": seconds, "samplesPerSec": args.steps * args.batch / seconds})


def ddp_worker(rank, args, port, results):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=args.processes, timeout=timedelta(seconds=60))
    try:
        train, _test = load_mnist(args.data)
        model = nn.parallel.DistributedDataParallel(build_model(args.seed))
        local = args.batch // args.processes
        # Every rank draws the same global batch and trains on its own slice of it.
        shards = (idx[rank * local:(rank + 1) * local] for idx in batch_indices(len(train), args.batch, args.seed))
        seconds = timed_steps(model, make_optimizer(model), train, shards, args.warmup, args.steps, dist.barrier)
        if rank == 0:
            results.put(seconds)
    finally:
        dist.destroy_process_group()


def free_loopback_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ddp(args, _train, _test):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # keep gloo's traffic on the loopback interface
    results = mp.get_context("spawn").SimpleQueue()
    mp.spawn(ddp_worker, args=(args, free_loopback_port(), results), nprocs=args.processes, join=True)
    seconds = results.get()
    emit({"mode": "ddp", "workers": args.processes, "batch": args.batch, "steps": args.steps,
          "seconds": seconds, "samplesPerSec": args.steps * args.batch / seconds})


def mean_bce(model, images, chunk=1000):
    with torch.no_grad():
        total = sum(F.binary_cross_entropy_with_logits(model(x), x, reduction="sum").item()
                    for x in images.split(chunk))
    return total / images.numel()


def run_time_to_quality(args, train, test):
    torch.set_num_threads(args.threads)
    model = build_model(args.seed)
    optimizer = make_optimizer(model)
    indices = batch_indices(len(train), args.batch, args.seed)
    steps_per_epoch = len(train) // args.batch
    wall = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        loss_sum = 0.0
        for _ in range(steps_per_epoch):
            loss_sum += train_step(model, optimizer, train.index_select(0, next(indices))).item()
        wall += time.perf_counter() - start  # evaluation is not training time
        emit({"mode": "time-to-quality", "workers": args.threads, "batch": args.batch, "epoch": epoch,
              "wallSeconds": wall, "trainBce": loss_sum / steps_per_epoch, "testBce": mean_bce(model, test)})


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="pytorch.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder with the MNIST IDX files (raw or .gz)")
    parser.add_argument("--seed", type=int, default=1)
    modes = parser.add_subparsers(dest="mode", required=True)

    throughput = modes.add_parser("throughput", help="samples/s of one process with T threads")
    throughput.add_argument("--threads", type=positive_int, default=1)
    ddp = modes.add_parser("ddp", help="samples/s of DDP (gloo) over P single-threaded processes")
    ddp.add_argument("--processes", type=positive_int, default=2)
    for mode in (throughput, ddp):
        mode.add_argument("--batch", type=positive_int, default=100, help="global batch size")
        mode.add_argument("--steps", type=positive_int, default=300, help="timed steps")
        mode.add_argument("--warmup", type=int, default=20, help="untimed steps first")
        mode.set_defaults(run=run_throughput if mode is throughput else run_ddp)

    ttq = modes.add_parser("time-to-quality", help="test BCE and wall time after each epoch")
    ttq.add_argument("--threads", type=positive_int, default=1)
    ttq.add_argument("--batch", type=positive_int, default=100)
    ttq.add_argument("--epochs", type=positive_int, default=5)
    ttq.set_defaults(run=run_time_to_quality)
    args = parser.parse_args(argv)
    if args.mode == "ddp" and args.batch % args.processes != 0:
        parser.error(f"--batch {args.batch} must be divisible by --processes {args.processes}")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        # DDP workers load their own copy; the parent only checks the files are readable.
        train, test = load_mnist(args.data)
    except (DataFileError, OSError) as e:
        sys.stderr.write(f"pytorch.py: cannot read MNIST: {e}\n")
        return EXIT_DATA
    args.run(args, train, test)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
