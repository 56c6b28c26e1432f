#!/usr/bin/env python3
"""Forwarders side by side: `udps forward`, nginx's stream UDP proxy and socat (fork mode), each in front of the same
C echo (bench/reference/echo_mmsg.c), driven by the same verified load (`udps load`), in interleaved rounds.

    flock /tmp/udps-bench.lock bench/forward/run.py [--quick]
    bench/forward/run.py --report bench/results/forward-<time>     (the table again from a run's rows.json)

Pinning on 2 cores: the forwarder under test on CPU 1; the load generator and the echo on CPU 0. A forwarder's CPU is
the utime+stime of its whole process group (socat's exited children included, through the parent's cutime/cstime),
sampled just before and after each load run, divided by the datagrams it forwarded (requests + replies: 2 per reply
the client received). Added latency: the forwarder's percentile minus the same round's direct run (load -> echo).
Writes bench/results/forward-<time>/ (raw JSON) and prints the markdown tables of bench/forward/BENCHMARKS-forward.md,
the forwarder section that bench/report.py appends to BENCHMARKS.md.
"""
import json, os, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = '--quick' in sys.argv
ROUNDS = 1 if QUICK else 3
WARMUP, DURATION = (0.5, 1.5) if QUICK else (1, 3)
UDPS = os.path.join(ROOT, 'src/udps/bin/Release/net10.0/udps')
BUILD = os.path.join(ROOT, 'bench/.build')
RESULTS = os.path.join(ROOT, 'bench/results', 'forward-' + time.strftime('%Y%m%dT%H%M%SZ', time.gmtime()))
TICK = os.sysconf('SC_CLK_TCK')
GEN_CPU, FWD_CPU = ('0', '1') if os.cpu_count() >= 2 else ('0', '0')

# name: (udps load arguments, churn?)
CONFIGS = {
    '64x16': ['--sessions', '64', '--window', '16'],
    '256x1': ['--sessions', '256', '--window', '1'],
    'open-20k': ['--sessions', '64', '--rate', '20000'],  # open loop at a rate all can carry: latency added by the forwarder
    'churn': ['--sessions', '64', '--window', '1', '--churn', '1'],  # DNS style: every client socket sends one request
}
FORWARDERS = ['direct', 'udps-forward', 'nginx', 'socat']


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def group_cpu_seconds(pgid):
    total = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5, pgrp
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def nginx_config(directory, port, upstream, churn):
    # One worker, a reuseport UDP listener, a fresh connected upstream socket per session (nginx's design).
    return f"""
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 16384; }}
stream {{
    server {{
        listen 127.0.0.1:{port} udp reuseport;
        proxy_pass 127.0.0.1:{upstream};
        proxy_timeout {'1s' if churn else '10s'};
        {'proxy_responses 1;' if churn else ''}
    }}
}}
"""


def start_forwarder(name, port, upstream, churn, directory):
    if name == 'udps-forward':
        command = [UDPS, 'forward', '--listen', f'127.0.0.1:{port}', '--upstream', f'127.0.0.1:{upstream}', '--threads', '1',
                   '--quiet', '--idle-timeout-seconds', '1'] + (['--responses-per-request', '1'] if churn else [])
    elif name == 'nginx':
        conf = os.path.join(directory, f'nginx-{port}.conf')
        with open(conf, 'w') as f:
            f.write(nginx_config(directory, port, upstream, churn))
        command = ['nginx', '-c', conf, '-p', directory, '-e', os.path.join(directory, 'error.log')]
    else:
        command = ['socat', '-T', '1', f'UDP4-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork', f'UDP4:127.0.0.1:{upstream}']
    log = open(os.path.join(directory, f'{name}-{port}.log'), 'w')
    process = subprocess.Popen(['taskset', '-c', FWD_CPU] + command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    time.sleep(1.5 if name == 'udps-forward' else 0.5)
    if process.poll() is not None:
        raise SystemExit(f'{name} did not start: see {log.name}')
    return process


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_load(port, config, out):
    command = ['taskset', '-c', GEN_CPU, UDPS, 'load', '--port', str(port), '--threads', '1', '--warmup', str(WARMUP),
               '--duration', str(DURATION), '--timeout-ms', '1000', '--max-loss', '100', '--json'] + CONFIGS[config]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    with open(out, 'w') as f:
        f.write(result.stdout)
    return json.loads(result.stdout)


def main():
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(BUILD, exist_ok=True)
    subprocess.run(['dotnet', 'build', os.path.join(ROOT, 'src/udps'), '-c', 'Release', '-nologo', '-v', 'quiet'], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(['gcc', '-O2', '-Wall', '-o', os.path.join(BUILD, 'echo_mmsg'), os.path.join(ROOT, 'bench/reference/echo_mmsg.c')], check=True)
    upstream = free_port()
    echo = subprocess.Popen(['taskset', '-c', GEN_CPU, os.path.join(BUILD, 'echo_mmsg'), str(upstream)], stdout=subprocess.DEVNULL, start_new_session=True)
    time.sleep(0.3)
    rows = []
    directory = tempfile.mkdtemp(prefix='udps-forward-bench-')
    try:
        for rnd in range(1, ROUNDS + 1):
            for config in CONFIGS:
                for name in FORWARDERS:
                    churn = config == 'churn'
                    if name == 'direct':
                        process, port = None, upstream
                    else:
                        port = free_port()
                        process = start_forwarder(name, port, upstream, churn, directory)
                    before = group_cpu_seconds(process.pid) if process else 0
                    started = time.monotonic()
                    result = run_load(port, config, os.path.join(RESULTS, f'{config}-{name}-r{rnd}.json'))
                    elapsed = time.monotonic() - started
                    cpu = group_cpu_seconds(process.pid) - before if process else 0
                    if process:
                        stop(process)
                    forwarded = 2 * result['replies']
                    row = {
                        'round': rnd, 'config': config, 'forwarder': name,
                        'repliesPerSecond': result['repliesPerSecond'],
                        'p50': result['latencyMicros']['p50'], 'p99': result['latencyMicros']['p99'],
                        'lossPercent': result['lossPercent'], 'lost': result['lost'], 'integrity': result['integrityErrors'],
                        'sessionsPerSecond': result['sessionsAcceptedPerSecond'],
                        'cpuMicrosPerDatagram': cpu * 1e6 / forwarded if forwarded and process else None,
                        'cpuMicrosPerSession': cpu * 1e6 / result['sessionsAccepted'] if churn and process and result['sessionsAccepted'] else None,
                        'cpuSeconds': cpu, 'elapsed': elapsed,
                    }
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        os.killpg(echo.pid, signal.SIGTERM)
        echo.wait()
    with open(os.path.join(RESULTS, 'rows.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    print(report(rows))


def median(rows, key):
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else None


def report(rows):
    lines = []
    for config in CONFIGS:
        churn = config == 'churn'
        direct = [r for r in rows if r['config'] == config and r['forwarder'] == 'direct']
        d50, d99 = median(direct, 'p50'), median(direct, 'p99')
        nginx = [r for r in rows if r['config'] == config and r['forwarder'] == 'nginx']
        n_cpu = median(nginx, 'cpuMicrosPerDatagram')
        n_sessions = median(nginx, 'sessionsPerSecond')
        lines.append(f'\n**{config}** ({" ".join(CONFIGS[config])}; median of {ROUNDS} rounds)\n')
        lines.append('| forwarder | replies/s | CPU µs per forwarded datagram | × nginx | p50 / p99 µs | added p50 / p99 µs | loss % | integrity errors |'
                     + (' new sessions/s | × nginx | CPU µs per session |' if churn else ''))
        lines.append('|---|---:|---:|---:|---:|---:|---:|---:|' + ('---:|---:|---:|' if churn else ''))
        for name in FORWARDERS:
            mine = [r for r in rows if r['config'] == config and r['forwarder'] == name]
            cpu = median(mine, 'cpuMicrosPerDatagram')
            p50, p99 = median(mine, 'p50'), median(mine, 'p99')
            # Only an open loop below every forwarder's capacity measures added latency; a closed loop measures queueing.
            added = f'{p50 - d50:,.0f} / {p99 - d99:,.0f}' if name != 'direct' and '--rate' in CONFIGS[config] else '—'
            ratio = f'{cpu / n_cpu:.2f}' if cpu and n_cpu else '—'
            line = (f'| {name} | {median(mine, "repliesPerSecond"):,.0f} | {"—" if cpu is None else f"{cpu:.2f}"} | {ratio} | {p50:,.0f} / {p99:,.0f} | {added} | '
                    f'{median(mine, "lossPercent"):.3f} | {sum(r["integrity"] for r in mine)} |')
            if churn:
                sessions = median(mine, 'sessionsPerSecond')
                per_session = median(mine, 'cpuMicrosPerSession')
                line += (f' {sessions:,.0f} | {sessions / n_sessions:.2f} | {"—" if per_session is None else f"{per_session:.1f}"} |'
                         if n_sessions else ' — | — | — |')
            lines.append(line)
    # Every round's figure, so that the spread behind each median can be read (the machine is shared).
    lines.append('\n**Every round** (CPU µs per forwarded datagram; churn: new sessions/s)\n')
    lines.append('| configuration | forwarder | rounds |')
    lines.append('|---|---|---|')
    for config in CONFIGS:
        key = 'sessionsPerSecond' if config == 'churn' else 'cpuMicrosPerDatagram'
        for name in FORWARDERS[1:]:
            mine = sorted((r for r in rows if r['config'] == config and r['forwarder'] == name), key=lambda r: r['round'])
            lines.append(f'| {config} | {name} | ' + ' / '.join('—' if r[key] is None else f'{r[key]:,.{0 if config == "churn" else 2}f}' for r in mine) + ' |')
    return '\n'.join(lines)


if __name__ == '__main__':
    if '--report' in sys.argv:  # re-render the table of an earlier run: --report bench/results/forward-<time>
        with open(os.path.join(sys.argv[sys.argv.index('--report') + 1], 'rows.json')) as f:
            rows = json.load(f)
        ROUNDS = max(r['round'] for r in rows)
        print(report(rows))
    else:
        main()
