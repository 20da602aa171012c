"""Live availability streams at flash-sale scale: 10,000 watchers of one event on one process.

    apt-get install -y wrk redis-server     # this benchmark NEEDS `wrk` and `redis-server`
    .venv/bin/python -m bench.live_bench [--streams 10000] [--changes 10] [--seconds 10]

One `shababco serve` (one worker, default settings, a Redis of its own) over `--events`
generated events in `shababco_live_bench`. In order:

1. cached reads alone: `wrk` on a cached detail and the list (`--connections`, `--seconds`);
2. `--streams` live streams of one event, opened over loopback; RSS before and after;
3. cached reads again, the streams open;
4. `--changes` signed `inventory_levels/update` webhooks to the same server, one at a time: from
   each POST to its message at every stream (the whole path: intake, inbox, apply, change log,
   follower, one read, fan-out);
5. cached reads with the streams open while changes keep falling (one a second);
6. the streams closed, cached reads alone again;
7. on a second, fresh server warmed up alike, uvicorn's own cost of a connection: `--streams`
   idle keep-alive connections (one `/health` each), RSS before and after.

The target ratio compares 3 against the mean of 1 and 6 (the machine's load drifts). The client
runs in this process on uvloop; it and `wrk` share the machine with the server, so the figures
are the whole machine's, and the load average before and after is recorded with them.
Writes bench/results/live.{md,json}.
"""
