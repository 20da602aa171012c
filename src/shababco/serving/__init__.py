"""How `shababco serve` serves: intake (webhooks, `/health`) on a lane of its own.

Under read load one event loop cannot keep intake responsive: uvloop accepts one connection per
loop iteration (libuv accepts once per readiness event), and an iteration that answers 2,000
keep-alive readers lasts hundreds of milliseconds, so new connections wait in the kernel's
queue for seconds; a fairer accept still leaves every step of a webhook (its read, its
database round trips) behind a whole iteration of reads. So the served socket is accepted on a
thread of its own (`lane`), greedily, and each connection is placed by its first bytes
(`accept`): webhooks and `/health` are answered on that thread's loop, with a database pool of
their own, and everything else goes to the main loop. The lane waits only for the GIL, which a
busy thread hands over within 5 ms. `protocol` adds read deadlines to uvicorn's HTTP protocol.
"""
