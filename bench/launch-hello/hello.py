# hello.ts in mpi4py: MPI_Init at import, one barrier, MPI_Finalize at exit.
from mpi4py import MPI

MPI.COMM_WORLD.Barrier()
