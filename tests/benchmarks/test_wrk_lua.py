import random
import re

import pytest
from bench.suite.paths import generated_ids, mixed_paths, read_paths
from bench.tools.wrk_lua import Pacing, lua_script


def test_script_rotates_every_path_in_order() -> None:
    script = lua_script(["/events", "/events/1", "/events?search=%D8%AD%D9%81%D9%84%D8%A9"])
    assert re.findall(r'^  "(.*)",$', script, re.MULTILINE) == [
        "/events",
        "/events/1",
        "/events?search=%D8%AD%D9%81%D9%84%D8%A9",
    ]
    assert "paths[counter % #paths + 1]" in script
    assert "function delay" not in script


def test_paced_script_averages_the_interval_and_spreads_first_requests() -> None:
    pacing = Pacing(connections=10_000, rate=2000)
    assert pacing.interval_ms == 5000
    script = lua_script(["/events"], pacing)
    assert "if calls <= 5000 then" in script  # one first request per connection of a thread
    assert "math.random(0, 5000)" in script
    later = re.search(r"return math.random\((\d+), (\d+)\)\nend", script)
    assert later is not None
    low, high = int(later[1]), int(later[2])
    assert (low + high) / 2 == 5000
    assert low > 0


@pytest.mark.parametrize("path", ["/events?search=حفلة", 'events"', "/a\\b", ""])
def test_script_refuses_paths_that_would_break_lua(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        lua_script([path] if path else [])


def test_read_paths_are_encoded_and_cover_each_shape() -> None:
    rng = random.Random(1)
    ids = generated_ids(2000, 50, rng)
    assert len(ids) == 50
    assert all(int(i) % 20 for i in ids)  # never a draft
    lists = read_paths("list", ids, rng)
    assert "/events" in lists
    assert any("category=" in p for p in lists)
    assert any("page=" in p and "limit=" in p for p in lists)
    searches = read_paths("search", ids, rng)
    assert any("%D8" in p for p in searches)  # Arabic words, percent-encoded
    assert all(p.isascii() for p in searches)
    assert sorted(read_paths("tickets", ids, rng)) == sorted(f"/events/{i}/tickets" for i in ids)
    lua_script(lists + searches)


def test_mixed_paths_interleave_the_reads() -> None:
    mixed = mixed_paths({"a": ["/a1", "/a2", "/a3"], "b": ["/b1"]})
    assert mixed == ["/a1", "/b1", "/a2", "/b1", "/a3", "/b1"]
