#!/usr/bin/env python3
"""OSU Micro-Benchmarks for mpi4py with the same command line, defaults, formulas and
output as bench/osu.ts and bench/c/osu_*.c (OSU 7.4's format):

    mpirun -np N python3 bench/py/osu.py <test> [-m [MIN:]MAX] [-i ITER] [-x SKIP] [-f]
                                                [-W WINDOW] [-T TYPE] [--jit-warmup N]

Buffers are numpy arrays passed to mpi4py's buffer (upper-case) methods, as mpi4py's
documentation recommends for speed. Debian's mpi4py: run it with /usr/bin/python3.
"""
import argparse
import sys

import numpy as np
from mpi4py import MPI

OSU_VERSION = "7.4"
LARGE_MESSAGE_SIZE = 8192
FIELD = 20

LAT = (10000, 100, 1000, 10)
BW = (100, 10, 20, 2)
COLL = (1000, 100, 100, 10)
TESTS = {
    # name: (title, kind, min, max, counts)
    "latency": ("Latency Test", "latency", 0, 1 << 22, LAT),
    "bw": ("Bandwidth Test", "bandwidth", 1, 1 << 22, BW),
    "bibw": ("Bi-Directional Bandwidth Test", "bandwidth", 1, 1 << 22, BW),
    "barrier": ("Barrier Latency Test", "barrier", 0, 0, COLL),
    "bcast": ("Broadcast Latency Test", "collective", 1, 1 << 20, COLL),
    "reduce": ("Reduce Latency Test", "collective", 1, 1 << 20, COLL),
    "allreduce": ("Allreduce Latency Test", "collective", 1, 1 << 20, COLL),
    "gather": ("Gather Latency Test", "collective", 1, 1 << 20, COLL),
    "allgather": ("Allgather Latency Test", "collective", 1, 1 << 20, COLL),
    "alltoall": ("All-to-All Personalized Exchange Latency Test", "collective", 1, 1 << 20, COLL),
    "reduce_scatter": ("Reduce_scatter Latency Test", "collective", 1, 1 << 20, COLL),
    "iallreduce": ("Non-blocking Allreduce Latency Test", "nonblocking", 1, 1 << 20, COLL),
}
TYPES = {
    "mpi_char": ("MPI_CHAR", np.int8, MPI.CHAR if hasattr(MPI, "CHAR") else MPI.SIGNED_CHAR),
    "mpi_int": ("MPI_INT", np.int32, MPI.INT),
    "mpi_float": ("MPI_FLOAT", np.float32, MPI.FLOAT),
    "mpi_double": ("MPI_DOUBLE", np.float64, MPI.DOUBLE),
}

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
ranks = comm.Get_size()
wtime = MPI.Wtime


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parse(argv):
    p = Parser(prog="osu.py", add_help=True)
    p.add_argument("test", choices=sorted(TESTS))
    p.add_argument("-m", "--message-size")
    p.add_argument("-i", "--iterations", type=int)
    p.add_argument("-x", "--warmup", type=int)
    p.add_argument("-f", "--full", action="store_true")
    p.add_argument("-W", "--window-size", type=int)
    p.add_argument("-T", "--type", choices=sorted(TYPES))
    p.add_argument("--jit-warmup", type=int, default=2000)
    a = p.parse_args(argv)
    title, kind, lo, hi, counts = TESTS[a.test]
    if a.window_size is not None and kind != "bandwidth":
        raise UsageError(f"option -W does not apply to {a.test}: only bw and bibw have a window")
    if a.full and kind in ("latency", "bandwidth"):
        raise UsageError(f"option -f does not apply to {a.test}: OSU prints min/max only for collectives")
    if kind == "barrier" and (a.message_size is not None or a.type is not None):
        raise UsageError(f"options -m and -T do not apply to {a.test}: a barrier has no message")
    if a.message_size is not None:
        try:
            if ":" in a.message_size:
                x, y = a.message_size.split(":", 1)
                lo = int(x) if x else lo
                hi = int(y) if y else max(hi, lo)
            else:
                hi = int(a.message_size)
        except ValueError:
            raise UsageError(f"option -m: expected [MIN:]MAX in bytes, got '{a.message_size}'")
        if lo < 0 or lo > hi:
            raise UsageError(f"option -m: expected 0 <= MIN <= MAX, got '{a.message_size}'")
    it, sk, itl, skl = counts
    if a.iterations is not None:
        if a.iterations < 1:
            raise UsageError("option -i: expected a positive integer")
        it = itl = a.iterations
    if a.warmup is not None:
        if a.warmup < 0:
            raise UsageError("option -x: expected a non-negative integer")
        sk = skl = a.warmup
    if a.jit_warmup < 0:
        raise UsageError("option --jit-warmup: expected a non-negative integer")
    label, dtype, mpitype = TYPES[a.type or "mpi_char"]
    return dict(test=a.test, title=title, kind=kind, min=lo, max=hi, counts=(it, sk, itl, skl),
                full=a.full, window=a.window_size or 64, jit=a.jit_warmup,
                label=label, dtype=dtype, mpitype=mpitype)


def sizes(o):
    out, s = [], o["min"]
    per = np.dtype(o["dtype"]).itemsize
    while s <= o["max"]:
        it, sk, itl, skl = o["counts"]
        if s // per > 0:
            out.append((s, s // per, *((itl, skl) if s > LARGE_MESSAGE_SIZE else (it, sk))))
        s = s * 2 if s else 1
    return out


def header(o):
    if rank != 0:
        return
    lines = ["", f"# OSU MPI {o['title']} v{OSU_VERSION}"]
    kind = o["kind"]
    if kind == "nonblocking":
        lines += ["# Overall = Coll. Init + Compute + MPI_Test + MPI_Wait", ""]
    if kind != "barrier":
        lines.append(f"# Datatype: {o['label']}.")
    if kind == "barrier":
        cols = "# Avg Latency(us)"
    elif kind == "bandwidth":
        cols = "# Size".ljust(10) + "Bandwidth (MB/s)".rjust(FIELD)
    elif kind == "nonblocking":
        names = (["Compute(us)", "Coll. Init(us)", "MPI_Test(us)", "MPI_Wait(us)", "Pure Comm.(us)",
                  "Min Comm.(us)", "Max Comm.(us)", "Overlap(%)"] if o["full"]
                 else ["Compute(us)", "Pure Comm.(us)", "Overlap(%)"])
        cols = "# Size".ljust(10) + "Overall(us)".rjust(FIELD) + "".join(n.rjust(FIELD) for n in names)
    else:
        cols = "# Size".ljust(10) + "Avg Latency(us)".rjust(FIELD)
    if o["full"] and kind in ("collective", "barrier"):
        cols += "Min Latency(us)".rjust(FIELD) + "Max Latency(us)".rjust(FIELD) + "Iterations".rjust(12)
    lines.append(cols)
    print("\n".join(lines), flush=True)


def f2(v, w=FIELD):
    return f"{v:{w}.2f}"


def across(v):
    """OSU's three MPI_Reduce calls to rank 0: min, max, average."""
    send = np.array([v], dtype=np.float64)
    out = [np.zeros(1), np.zeros(1), np.zeros(1)]
    for buf, op in zip(out, (MPI.MIN, MPI.MAX, MPI.SUM)):
        comm.Reduce(send, buf, op=op, root=0)
    return out[0][0], out[1][0], out[2][0] / ranks


def buffer(o, n, fill):
    return np.full(max(n, 1), fill, dtype=o["dtype"])


def pt2pt(o):
    table = sizes(o)
    big = max([1] + [s[1] for s in table])
    sbuf, rbuf, ack = buffer(o, big, 1), buffer(o, big, 0), np.zeros(1, dtype=np.int8)
    peer = 1 - rank
    window = o["window"]
    t = MPI.CHAR if hasattr(MPI, "CHAR") else MPI.SIGNED_CHAR

    def latency(n, iters, skip):
        s, r = [sbuf[:n], o["mpitype"]], [rbuf[:n], o["mpitype"]]
        total = 0.0
        for i in range(iters + skip):
            if rank == 0:
                t0 = wtime()
                comm.Send(s, dest=1, tag=1)
                comm.Recv(r, source=1, tag=1)
                if i >= skip:
                    total += wtime() - t0
            else:
                comm.Recv(r, source=0, tag=1)
                comm.Send(s, dest=0, tag=1)
        return total

    def bw(n, iters, skip):
        s, r = [sbuf[:n], o["mpitype"]], [rbuf[:n], o["mpitype"]]
        total = 0.0
        for i in range(iters + skip):
            t0 = wtime()
            if rank == 0:
                reqs = [comm.Isend(s, dest=1, tag=100) for _ in range(window)]
                MPI.Request.Waitall(reqs)
                comm.Recv([ack, t], source=1, tag=101)
            else:
                reqs = [comm.Irecv(r, source=0, tag=100) for _ in range(window)]
                MPI.Request.Waitall(reqs)
                comm.Send([ack, t], dest=0, tag=101)
            if i >= skip:
                total += wtime() - t0
        return total

    def bibw(n, iters, skip):
        s, r = [sbuf[:n], o["mpitype"]], [rbuf[:n], o["mpitype"]]
        total = 0.0
        for i in range(iters + skip):
            t0 = wtime()
            recvs = [comm.Irecv(r, source=peer, tag=100) for _ in range(window)]
            sends = [comm.Isend(s, dest=peer, tag=100) for _ in range(window)]
            if rank == 0:
                MPI.Request.Waitall(sends)
                MPI.Request.Waitall(recvs)
            else:
                MPI.Request.Waitall(recvs)
                MPI.Request.Waitall(sends)
            if i >= skip:
                total += wtime() - t0
        return total

    measure = {"latency": latency, "bw": bw, "bibw": bibw}[o["test"]]
    if o["jit"] > 0 and table:
        comm.Barrier()
        measure(table[0][1], o["jit"], 0)
    header(o)
    for size, n, iters, skip in table:
        comm.Barrier()
        total = measure(n, iters, skip)
        if rank == 0:
            if o["test"] == "latency":
                value = total * 1e6 / (2.0 * iters)
            else:
                value = size / 1e6 * iters * window * (2 if o["test"] == "bibw" else 1) / total
            print(f"{size:<10d}" + f2(value), flush=True)


def reduce_scatter_counts(n):
    portion, remainder = divmod(n, ranks)
    if n < ranks:
        return [1 if i < n else 0 for i in range(ranks)]
    return [portion + (1 if i < remainder else 0) for i in range(ranks)]


def collective(o):
    test, kind = o["test"], o["kind"]
    table = [(0, 0, o["counts"][0], o["counts"][1])] if kind == "barrier" else sizes(o)
    big = max([1] + [s[1] for s in table])
    per_rank = test in ("gather", "allgather", "alltoall")
    sbuf = buffer(o, big * ranks if test == "alltoall" else big, 1)
    rbuf = buffer(o, big * ranks if per_rank else big, 0)
    t = o["mpitype"]

    def call_for(n):
        s, r = [sbuf[:n], t], [rbuf[:n], t]
        if test == "barrier":
            return comm.Barrier
        if test == "bcast":
            return lambda: comm.Bcast(s, root=0)
        if test == "reduce":
            return lambda: comm.Reduce(s, r, op=MPI.SUM, root=0)
        if test == "allreduce":
            return lambda: comm.Allreduce(s, r, op=MPI.SUM)
        blocks = [rbuf[:n * ranks], t]
        if test == "gather":
            return lambda: comm.Gather(s, blocks, root=0)
        if test == "allgather":
            return lambda: comm.Allgather(s, blocks)
        if test == "alltoall":
            return lambda: comm.Alltoall([sbuf[:n * ranks], t], blocks)
        if test == "reduce_scatter":
            counts = reduce_scatter_counts(n)
            return lambda: comm.Reduce_scatter(s, [rbuf[:counts[rank]], t], recvcounts=counts, op=MPI.SUM)
        raise ValueError(test)

    def measure(n, iters, skip):
        call = call_for(n)
        timer = 0.0
        for i in range(iters + skip):
            t0 = wtime()
            call()
            t1 = wtime()
            if kind != "barrier":
                comm.Barrier()
            if i >= skip:
                timer += t1 - t0
        return timer

    if o["jit"] > 0 and table:
        comm.Barrier()
        measure(table[0][1], o["jit"], 0)
    header(o)
    for size, n, iters, skip in table:
        comm.Barrier()
        lat = measure(n, iters, skip) * 1e6 / iters
        lo, hi, avg = across(lat)
        if rank == 0:
            line = f2(avg, 17) if kind == "barrier" else f"{size:<10d}" + f2(avg)
            if o["full"]:
                line += f2(lo) + f2(hi) + f"{iters:12d}"
            print(line, flush=True)
        comm.Barrier()


DIM = 25
_a = np.ones((DIM, DIM), dtype=np.float32)
_x = np.zeros(DIM, dtype=np.float32)
_y = np.ones(DIM, dtype=np.float32)


def compute_on_host():
    # OSU's kernel, x[i] += sum_j a[i][j] * a[j][i] + y[j], as one numpy expression.
    _x[:] = _x + (_a * _a.T).sum(axis=1) + _y.sum()


def compute(seconds):
    elapsed = 0.0
    while elapsed < seconds:
        t1 = wtime()
        compute_on_host()
        elapsed += wtime() - t1


def nonblocking(o):
    table = sizes(o)
    big = max([1] + [s[1] for s in table])
    sbuf, rbuf, t = buffer(o, big, 1), buffer(o, big, 0), o["mpitype"]

    def pure(n, iters, skip):
        s, r = [sbuf[:n], t], [rbuf[:n], t]
        timer = 0.0
        for i in range(iters + skip):
            t0 = wtime()
            comm.Iallreduce(s, r, op=MPI.SUM).Wait()
            t1 = wtime()
            comm.Barrier()
            if i >= skip:
                timer += t1 - t0
        return timer / iters

    if o["jit"] > 0 and table:
        comm.Barrier()
        pure(table[0][1], o["jit"], 0)
    header(o)
    for size, n, iters, skip in table:
        comm.Barrier()
        comm_s = pure(n, iters, skip)
        comm.Barrier()
        s, r = [sbuf[:n], t], [rbuf[:n], t]
        overall = init = comp = wait = 0.0
        for i in range(iters + skip):
            t0 = wtime()
            req = comm.Iallreduce(s, r, op=MPI.SUM)
            t1 = wtime()
            compute(comm_s)
            t2 = wtime()
            req.Wait()
            t3 = wtime()
            comm.Barrier()
            if i >= skip:
                overall += t3 - t0
                init += t1 - t0
                comp += t2 - t1
                wait += t3 - t2
        us = 1e6 / iters
        avg = lambda v: across(v)[2]
        a_overall, a_comp, a_init, a_wait = avg(overall * us), avg(comp * us), avg(init * us), avg(wait * us)
        c_min, c_max, c_avg = across(comm_s * 1e6)
        if rank == 0:
            overlap = max(0.0, 100 - (a_overall - a_comp) / c_avg * 100)
            cols = ([a_comp, a_init, 0.0, a_wait, c_avg, c_min, c_max, overlap] if o["full"]
                    else [a_comp, c_avg, overlap])
            print(f"{size:<10d}" + f2(a_overall) + "".join(f2(v) for v in cols), flush=True)
        comm.Barrier()


def main():
    try:
        o = parse(sys.argv[1:])
    except UsageError as e:
        if rank == 0:
            print(f"osu: error: {e}", file=sys.stderr, flush=True)
        comm.Barrier()
        return 1
    need_two = o["kind"] in ("latency", "bandwidth")
    if (ranks != 2) if need_two else (ranks < 2):
        if rank == 0:
            print(f"osu: error: {o['test']} needs {'exactly' if need_two else 'at least'} 2 ranks", file=sys.stderr, flush=True)
        return 1
    if o["kind"] in ("latency", "bandwidth"):
        pt2pt(o)
    elif o["kind"] == "nonblocking":
        nonblocking(o)
    else:
        collective(o)
    return 0


if __name__ == "__main__":
    sys.exit(main())
