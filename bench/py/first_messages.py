"""mpi4py side of bench/first-messages.ts: the same measurements as
bench/first-messages-rank.ts (Send/Recv ping-pong on numpy buffers, Isend/Irecv + Waitall
window with a 1-byte ack), in a fresh process per measurement.
    mpirun -np 2 python3 first_messages.py first|pingpong|window <size> [trips]"""
import json
import sys
import time

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
assert comm.Get_size() == 2, "first_messages needs exactly 2 ranks"
peer = 1 - rank
mode = sys.argv[1]
size = int(sys.argv[2])


def out(**o):
    if rank == 0:
        print(json.dumps(o), flush=True)


def trip(s, r):
    if rank == 0:
        comm.Send(s, dest=peer, tag=1)
        comm.Recv(r, source=peer, tag=1)
    else:
        comm.Recv(r, source=peer, tag=1)
        comm.Send(s, dest=peer, tag=1)


if mode == "first":
    trips = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    s = np.zeros(size, dtype=np.uint8)
    r = np.zeros(size, dtype=np.uint8)
    t = np.zeros(trips)
    clock = time.perf_counter
    comm.Barrier()
    prev = clock()
    for i in range(trips):
        trip(s, r)
        now = clock()
        t[i] = (now - prev) * 1e6 / 2
        prev = now
    for a, b in ((1, 100), (101, 1000), (1001, 2000), (trips - 1999, trips)):
        part = t[a - 1:b]
        out(mode=mode, size=size, stretch=f"{a}-{b}", median=float(np.median(part)), mean=float(part.mean()))
elif mode == "pingpong":
    s = np.zeros(size, dtype=np.uint8)
    r = np.zeros(size, dtype=np.uint8)
    comm.Barrier()
    for _ in range(100):
        trip(s, r)
    t0 = time.perf_counter()
    for _ in range(2000):
        trip(s, r)
    out(mode=mode, size=size, oneway=(time.perf_counter() - t0) * 1e6 / 4000)
elif mode == "window":
    W = 64
    buf = np.zeros(size, dtype=np.uint8)
    ack = np.zeros(1, dtype=np.uint8)
    comm.Barrier()
    n = 8
    while n <= size:
        b = buf[:n]
        t0 = 0.0
        for i in range(220):
            if i == 20:
                t0 = time.perf_counter()
            if rank == 0:
                reqs = [comm.Isend(b, dest=peer, tag=100) for _ in range(W)]
                MPI.Request.Waitall(reqs)
                comm.Recv(ack, source=peer, tag=101)
            else:
                reqs = [comm.Irecv(b, source=peer, tag=100) for _ in range(W)]
                MPI.Request.Waitall(reqs)
                comm.Send(ack, dest=peer, tag=101)
        sec = time.perf_counter() - t0
        out(mode=mode, size=n, mbps=n * W * 200 / sec / 1e6)
        n *= 2
else:
    raise SystemExit(f"unknown mode {mode} (first | pingpong | window)")
