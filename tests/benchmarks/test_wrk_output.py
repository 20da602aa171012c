import math

from bench.cache_bench import milliseconds, parse_wrk

# wrk 4's summary; a one-letter unit is padded with a trailing space, as wrk prints it.
OUTPUT = """Running 10s test @ http://127.0.0.1:8000/
  2 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.03ms  301.12ms   1.98s    70.12%
    Req/Sec    81.20     30.11   150.00     66.00%
  Latency Distribution
     50%  540.22ms
     75%  800.01ms
     90%    1.10s{pad}
     99%    1.52s{pad}
  1620 requests in 10.01s, 3.20MB read
  Socket errors: connect 0, read 2, write 0, timeout 7
  Non-2xx or 3xx responses: 3
Requests/sec:    161.84
Transfer/sec:    327.12KB
""".format(pad=" ")


def test_seconds_with_wrk_padding_are_parsed() -> None:
    figures = parse_wrk(OUTPUT)
    assert figures["p50_ms"] == 540.22
    assert figures["p99_ms"] == 1520.0
    assert figures["rps"] == 161.84
    assert figures["requests"] == 1620
    assert figures["socket_errors"] == 9
    assert figures["non_2xx"] == 3


def test_nothing_answered_has_no_latency() -> None:
    silent = """  Latency Distribution
     50%    0.00us
     99%    0.00us
  0 requests in 2.00s, 0.00B read
Requests/sec:      0.00
"""
    figures = parse_wrk(silent)
    assert math.isnan(figures["p50_ms"])
    assert math.isnan(figures["p99_ms"])
    assert (figures["rps"], figures["socket_errors"], figures["non_2xx"]) == (0.0, 0, 0)


def test_units() -> None:
    assert milliseconds("812.00us") == 0.812
    assert milliseconds("4.83ms") == 4.83
    assert milliseconds(" 1.20s ") == 1200.0
    assert math.isnan(milliseconds(None))
