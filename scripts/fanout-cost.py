#!/usr/bin/env python3
"""What one fan-out delivery costs: runs `bbs-bench fanout` (bbs or Redis) against a fresh
server and reports, for the 10 s while the producer runs, the CPU time and context switches
of the server and of the bench process (all its consumer threads) per delivered message.
On a shared machine these are steadier than latencies. CPU comes from /proc/PID/stat,
context switches from the sum over /proc/PID/task/*/status.

    scripts/fanout-cost.py bbs|raw|redis N [BIN_DIR] [SECONDS]

`raw` runs bare Fetch consumers (`bbs-bench fanout --raw`) against bbs-server. FLUSH=interval
starts bbs-server with that flush policy.

BIN_DIR holds bbs-server and bbs-bench (default target/release). PERF=server|bench also
records a `perf record -g` profile of that process for 6 s of the run (PERF_OUT, default
perf.data)."""
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

kind, n = sys.argv[1], int(sys.argv[2])
bindir = sys.argv[3] if len(sys.argv) > 3 else 'target/release'
secs = sys.argv[4] if len(sys.argv) > 4 else '10'
HZ = os.sysconf('SC_CLK_TCK')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def snapshot(pid):
    """(CPU seconds, context switches) of every thread of `pid` so far."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / HZ
    switches = 0
    for status in glob.glob(f'/proc/{pid}/task/*/status'):
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith(('voluntary_ctxt', 'nonvoluntary_ctxt')):
                        switches += int(line.split()[1])
        except OSError:
            pass  # a thread that just ended
    return cpu, switches


tmp = tempfile.mkdtemp(prefix='fanout-cost-')
port = free_port()
addr = f'127.0.0.1:{port}'
if kind in ('bbs', 'raw'):
    cfg = os.path.join(tmp, 'server.toml')
    with open(cfg, 'w') as f:
        flush = f'flush = "{os.environ["FLUSH"]}"\n' if os.environ.get('FLUSH') else ''
        f.write('[broker]\nmax_connections = 20000\n' + flush + '\n'
                '[broker.max_connections_per_ip_overrides]\n"127.0.0.1" = 20000\n')
    server = subprocess.Popen([f'{bindir}/bbs-server', '--listen', addr, '--data-dir',
                               os.path.join(tmp, 'data'), '--config', cfg],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = ['--bootstrap', addr]
else:
    server = subprocess.Popen(['redis-server', '--port', str(port), '--bind', '127.0.0.1',
                               '--save', '', '--appendonly', 'no', '--maxclients', '12000',
                               '--protected-mode', 'no', '--daemonize', 'no'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = ['--redis', addr]
for _ in range(200):
    try:
        socket.create_connection(('127.0.0.1', port), 0.2).close()
        break
    except OSError:
        time.sleep(0.05)
bench = subprocess.Popen([f'{bindir}/bbs-bench', 'fanout', *target, '--consumers', str(n),
                          '--seconds', secs] + (['--raw'] if kind == 'raw' else []),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, RUST_LOG='info'))
start = end = None
for line in bench.stderr:
    if 'fan-out: producing' in line:
        start = (time.time(), snapshot(server.pid), snapshot(bench.pid))
        if os.environ.get('PERF'):
            who = server.pid if os.environ['PERF'] == 'server' else bench.pid
            subprocess.Popen(['perf', 'record', '-g', '-o', os.environ.get('PERF_OUT', 'perf.data'),
                              '-p', str(who), '--', 'sleep', '6'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif 'fan-out: produced' in line:
        end = (time.time(), snapshot(server.pid), snapshot(bench.pid))
    elif 'INFO' not in line:
        sys.stderr.write(line)
out = bench.stdout.read()
bench.wait()
server.terminate()
server.wait()
shutil.rmtree(tmp, ignore_errors=True)
print(out.strip())
m = re.search(r'delivered=(\d+)/(\d+) .*p50=([\d.]+)ms p99=([\d.]+)ms', out)
if not (start and end and m):
    sys.exit('the run did not finish')
window = end[0] - start[0]
delivered = int(m.group(1))
s_cpu, s_cs = end[1][0] - start[1][0], end[1][1] - start[1][1]
b_cpu, b_cs = end[2][0] - start[2][0], end[2][1] - start[2][1]
print(f'{kind} N={n} p50={m.group(3)}ms p99={m.group(4)}ms delivered={delivered}/{m.group(2)}; '
      f'per delivery: server {s_cpu / delivered * 1e6:.1f} us CPU, {s_cs / delivered:.2f} '
      f'context switches; bench {b_cpu / delivered * 1e6:.1f} us CPU, {b_cs / delivered:.2f} '
      f'context switches (window {window:.1f} s, server {s_cpu / window:.0%} of a core, '
      f'bench {b_cpu / window:.0%})')
# A saturated run batches (several deliveries per read): per round trip is what one
# fetch answer costs each side.
per_read = float(re.search(r'per-read=([\d.]+)', out).group(1))
trips = delivered / max(per_read, 1e-9)
print(f'per round trip ({per_read} deliveries per read): server {s_cpu / trips * 1e6:.1f} us CPU, '
      f'bench {b_cpu / trips * 1e6:.1f} us CPU')
