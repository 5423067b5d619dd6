# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Concurrency: 50 system module runs at once (two AWX jobs, times twenty-five), mixing creates,
MAC replacements and from_pool takes that compete for too few spares and for the same MACs.

Each run is the real module process. Afterwards no MAC belongs to two records, no spare was
handed out twice or lost, every run that reported success has its change in the store (no lost
update), every refusal names its record and field and left nothing behind. `make soak`
(BAREMETAL_SOAK=1) repeats the round many times with other seeds.
"""

import os
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from support import report
from support.fleet import write_fleet
from support.modules import run_module

from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore

ROUNDS = int(os.environ.get("BAREMETAL_CONCURRENCY_ROUNDS", "40" if os.environ.get("BAREMETAL_SOAK") else "3"))
RUNS = 50


def _macs(store):
    """Every MAC in the store with its owners ("systems/x" or "pools/y")."""
    owners = {}
    for name in store.names("systems"):
        for iface in store.data("systems", name).get("interfaces") or []:
            owners.setdefault(iface["mac"], []).append("systems/" + name)
    for name in store.names("pools"):
        for machine in store.data("pools", name).get("machines") or []:
            owners.setdefault(machine["mac"], []).append("pools/" + name)
    return owners


def _jobs(store, rng):
    """50 runs: 16 takes from a pool holding 12 spares (4 of each model), 17 creates, 17 MAC
    replacements; two creates race for one MAC, a create races a replacement for another, and
    one create asks for a spare's MAC."""
    systems = sorted(store.names("systems"))
    rng.shuffle(systems)
    spare_mac = store.data("pools", "spares-dmz")["machines"][0]["mac"]
    jobs = []
    for name in systems[:16]:
        jobs.append(("take", name, {"name": name, "from_pool": "spares-dmz"}))
    for number in range(17):
        mac = "52:54:0b:00:00:%02x" % number
        if number == 1:
            mac = "52:54:0b:00:00:00"  # same MAC as create 0
        if number == 2:
            mac = "52:54:0c:00:00:00"  # same MAC as the first replacement below
        if number == 3:
            mac = spare_mac  # a spare's MAC: never for a create
        args = {
            "name": "new%02d" % number,
            "tier": "web",
            "hardware_model": "r650",
            "mac": mac,
            "ip": "192.0.2.%d" % (100 + number),
        }
        jobs.append(("create", "new%02d" % number, args))
    for number, name in enumerate(systems[16:33]):
        jobs.append(("mac", name, {"name": name, "mac": "52:54:0c:00:00:%02x" % number}))
    rng.shuffle(jobs)
    assert len(jobs) == RUNS
    return jobs


def _round(tmp_path, seed, counts):
    records = write_fleet(
        tmp_path / ("records-%d" % seed), 60, segments=1, supernet="192.0.2.0/24", spares_per_segment=12, seed=seed
    )
    before = RecordStore.load(records)
    pool_before = [dict(m) for m in before.data("pools", "spares-dmz")["machines"]]
    models = {name: before.data("systems", name)["hardware_model"] for name in before.names("systems")}
    jobs = _jobs(before, random.Random(seed))
    with ThreadPoolExecutor(max_workers=RUNS) as pool:
        results = list(pool.map(lambda job: run_module("system", dict(job[2], records_dir=records)), jobs))
    store = RecordStore.load(records)
    assert store.problems() == []
    owners = _macs(store)
    counts["runs"] += len(jobs)
    counts["mac_owned_twice"] += sum(1 for holders in owners.values() if len(holders) > 1)
    handed = Counter()
    for (kind, name, args), result in zip(jobs, results):
        if result.get("failed"):
            counts["refused"] += 1
            problems = result.get("problems") or []
            assert problems and all(p.get("path") and p.get("field") and p.get("message") for p in problems), result
            if kind == "create":
                assert name not in store.names("systems"), result
            elif kind == "mac":
                assert (
                    store.data("systems", name)["interfaces"][0]["mac"]
                    == before.data("systems", name)["interfaces"][0]["mac"]
                )
            continue
        counts["succeeded"] += 1
        if kind == "take":
            handed[result["pool_spare"]["mac"]] += 1
            expected = result["pool_spare"]["mac"]
            assert result["pool_spare"]["hardware_model"] == models[name]
        else:
            expected = args["mac"]
        if store.data("systems", name)["interfaces"][0]["mac"] != expected:
            counts["lost_updates"] += 1
    counts["double_handed_spares"] += sum(1 for n in handed.values() if n > 1)
    pool_after = {m["mac"] for m in store.data("pools", "spares-dmz")["machines"]}
    for machine in pool_before:
        # a spare is either still in the pool or in exactly one system: never both, never neither
        holders = owners.get(machine["mac"], [])
        if machine["mac"] in handed:
            taker = next(
                j[1] for j, r in zip(jobs, results) if (r.get("pool_spare") or {}).get("mac") == machine["mac"]
            )
            assert holders == ["systems/" + taker]
        else:
            assert machine["mac"] in pool_after, machine
            counts["spares_lost"] += 0 if holders == ["pools/spares-dmz"] else 1
    # the takes got every spare of the models they asked for, as long as one was left
    wanted = Counter(models[j[1]] for j in jobs if j[0] == "take")
    offered = Counter(m["hardware_model"] for m in pool_before)
    assert sum(handed.values()) == sum(min(wanted[m], offered[m]) for m in wanted), (wanted, offered, handed)
    return counts


def test_fifty_mixed_system_runs_at_once_lose_nothing_and_hand_out_no_spare_twice(tmp_path):
    counts = Counter(
        {
            "runs": 0,
            "succeeded": 0,
            "refused": 0,
            "lost_updates": 0,
            "double_handed_spares": 0,
            "mac_owned_twice": 0,
            "spares_lost": 0,
        }
    )
    for seed in range(ROUNDS):
        _round(tmp_path, seed, counts)
    report.add("concurrency: %d rounds of 50 system runs at once" % ROUNDS, **counts)
    assert (
        counts["lost_updates"]
        == counts["double_handed_spares"]
        == counts["mac_owned_twice"]
        == counts["spares_lost"]
        == 0
    )
    # the races were real: the MAC collisions and the spare shortage refused some runs, not all
    assert 0 < counts["refused"] < counts["runs"]
