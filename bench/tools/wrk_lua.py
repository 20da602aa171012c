"""wrk Lua scripts for bench.suite: rotate a list of paths, optionally paced to a fixed rate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROTATE = """\
local paths = {{
{paths}
}}
local threads = 0
function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end
local counter = 0
function init(args)
  counter = offset or 0
  math.randomseed(counter + 1)
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[counter % #paths + 1])
end
"""
# wrk asks delay() before every request, a connection's first included. The first `per_thread`
# calls are those first requests: spread over one interval, so connections do not fire together;
# later ones are uniform around the interval, so the total rate stays smooth.
PACE = """\
local calls = 0
function delay()
  calls = calls + 1
  if calls <= {per_thread} then
    return math.random(0, {interval_ms})
  end
  return math.random({low_ms}, {high_ms})
end
"""


@dataclass(frozen=True)
class Pacing:
    """`connections` each sending one request every `connections / rate` seconds on average."""

    connections: int
    rate: float
    threads: int = 2

    @property
    def interval_ms(self) -> int:
        return round(1000 * self.connections / self.rate)


def lua_script(paths: list[str], pacing: Pacing | None = None) -> str:
    """The script's text; paths must already be percent-encoded."""
    for path in paths:
        if not path.isascii() or '"' in path or "\\" in path or not path.startswith("/"):
            raise ValueError(f"not a percent-encoded path: {path!r}")
    if not paths:
        raise ValueError("no paths to rotate")
    text = ROTATE.format(paths="\n".join(f'  "{path}",' for path in paths))
    if pacing is not None:
        interval = pacing.interval_ms
        text += PACE.format(
            per_thread=pacing.connections // pacing.threads,
            interval_ms=interval,
            low_ms=interval // 2,
            high_ms=interval + interval // 2,
        )
    return text


def write_script(folder: Path, name: str, paths: list[str], pacing: Pacing | None = None) -> Path:
    target = folder / f"{name}.lua"
    target.write_text(lua_script(paths, pacing))
    return target
