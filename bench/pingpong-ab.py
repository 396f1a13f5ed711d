"""Interleaved A/B runs of the user-style 8 B / 1 KiB ping-pong (100 warm-up round trips,
then 2000): mpi4py (bench/py/first_messages.py) and zcmpi variants given as environment
settings, rep after rep, so a noisy neighbour hurts every variant alike. Prints, per variant,
the mean and median one-way latency of each rep, the median of trips 1-100 and the number
of trips over 1 ms (bench/pingpong-trips.ts --json, rank 0).
    python3 bench/pingpong-ab.py REPS SIZE VARIANT...
    VARIANT: py (mpi4py) | NAME | NAME:VAR=VALUE,VAR=VALUE (NAME containing 'plain': plain buffers;
    PROGRAM=path: another copy of bench/pingpong-trips.ts, e.g. one importing an older runtime)
    e.g. python3 bench/pingpong-ab.py 3 8 py now spin:ZCMPI_BUSY_POLL_US=100000 unbound:ZCMPI_BIND=none
Run from the repository root after npm run build."""
import json, subprocess, sys, os, time, statistics

reps=int(sys.argv[1]); size=sys.argv[2]; variants=sys.argv[3:]
res={v:[] for v in variants}
env0=dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1', UCX_WARN_UNUSED_ENV_VARS='n')
for r in range(reps):
  for v in variants:
    if v=='py':
      out=subprocess.run(['mpirun','--oversubscribe','-np','2','/usr/bin/python3','bench/py/first_messages.py','pingpong',size],capture_output=True,text=True,env=env0,timeout=300).stdout
      row=[json.loads(l) for l in out.splitlines() if l.startswith('{')][0]
      res[v].append((row['oneway'],None,None,None,None))
    else:
      env=dict(env0)
      name,_,assigns=v.partition(':')
      for a in assigns.split(',') if assigns else []:
        k,_,val=a.partition('='); env[k]=val
      out=subprocess.run(['node','dist/launcher/cli.js','-np','2',env.get('PROGRAM','bench/pingpong-trips.ts'),'--size',size,'--json']+(['--buffer','plain'] if 'plain' in name else []),capture_output=True,text=True,env=env,timeout=300)
      rows=[json.loads(l) for l in out.stdout.splitlines() if l.startswith('{')]
      if not rows: print('FAIL',v,out.stderr[-500:]); continue
      row=[x for x in rows if x['rank']==0][0]
      big=sum(row['tripHistogram'][6:])
      res[v].append((row['after100']['mean'],row['after100']['median'],row['first100']['median'],big,row.get('helperCpuMs')))
  print('rep',r,'load',open('/proc/loadavg').read().split()[0], {v:('%.2f'%res[v][-1][0] if res[v] else '-') for v in variants}, flush=True)
for v in variants:
  a=res[v]
  print(v, 'means', ' '.join('%.2f'%x[0] for x in a), '| median of means %.2f'%statistics.median([x[0] for x in a]),
        '| medians', ' '.join('%.2f'%x[1] for x in a if x[1] is not None), '| first100 med', ' '.join('%.1f'%x[2] for x in a if x[2] is not None), '| trips>1ms', ' '.join(str(x[3]) for x in a if x[3] is not None),
        '| helper-thread CPU ms', ' '.join('%.1f'%x[4] for x in a if x[4] is not None))
