"""A second Ableton Link peer for tests/daemon.rs: the `aalink` package (the official Link
library through pybind11), driven line by line over stdin/stdout.

Commands (one per line), each answered with one line:
  beat T      -> "beat B TEMPO": this peer's beat at Link time T (microseconds), quantum 4
  tempo BPM   -> "ok": commit a new session tempo
  playing 0|1 -> "ok": start or stop the session transport (start/stop sync is on)
  state       -> "state TEMPO PEERS PLAYING"
"""

import asyncio
import sys

import aalink


async def main() -> None:
    loop = asyncio.get_running_loop()
    link = aalink.Link(float(sys.argv[1]))
    link.quantum = 4
    link.start_stop_sync_enabled = True
    link.enabled = True
    print("ready", flush=True)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        words = line.split()
        if not words:
            continue
        cmd = words[0]
        if cmd == "beat":
            t = float(words[1])
            # The beat now, bracketed by two clock readings (the Link clock, microseconds);
            # the tightest bracket of a few (a preemption in between would skew it).
            best = None
            for _ in range(20):
                t0 = link.time.total_seconds() * 1e6
                b = link.beat
                t1 = link.time.total_seconds() * 1e6
                if best is None or t1 - t0 < best[0]:
                    best = (t1 - t0, b, (t0 + t1) / 2)
                if t1 - t0 < 50:
                    break
            _, b, now = best
            tempo = link.tempo
            print(f"beat {b + (t - now) * tempo / 60e6:.9f} {tempo:.9f}", flush=True)
        elif cmd == "tempo":
            link.tempo = float(words[1])
            print("ok", flush=True)
        elif cmd == "playing":
            link.playing = words[1] != "0"
            print("ok", flush=True)
        elif cmd == "state":
            print(f"state {link.tempo:.9f} {link.num_peers} {int(link.playing)}", flush=True)
        else:
            print(f"error unknown command {cmd}", flush=True)


asyncio.run(main())
