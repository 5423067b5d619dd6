# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

How many spares each pool has left per hardware model, against the level its record asks to
keep (``min_spares``): the one rule validate, the inventory and replace report from.
"""

from __future__ import annotations


def levels(store):
    """[{pool, segment, hardware_model, spares, min_spares, low}] by pool and model: every model
    a pool holds or names in min_spares (a model it has none of left shows 0)."""
    out = []
    for name in store.names("pools"):
        pool = store.data("pools", name)
        if pool is None:
            continue
        counts = {}
        for machine in pool.get("machines") or []:
            counts[machine["hardware_model"]] = counts.get(machine["hardware_model"], 0) + 1
        wanted = pool.get("min_spares") or {}
        for model in sorted(set(counts) | set(wanted)):
            left, keep = counts.get(model, 0), wanted.get(model)
            out.append(
                {
                    "pool": name,
                    "segment": pool.get("segment"),
                    "hardware_model": model,
                    "spares": left,
                    "min_spares": keep,
                    "low": keep is not None and left < keep,
                }
            )
    return out


def warning(level):
    """The sentence for a pool that is below the level its record sets (None when it is not)."""
    if not level["low"]:
        return None
    return "pool %s has %d spare%s of hardware model %s left, below its min_spares of %d: enlist or add some" % (
        level["pool"],
        level["spares"],
        "" if level["spares"] == 1 else "s",
        level["hardware_model"],
        level["min_spares"],
    )


def warnings(store):
    return [w for w in (warning(level) for level in levels(store)) if w]


def after_taking(store, pool, model):
    """What replace says when it takes a spare: the count left, and a warning when that was the
    last one or the pool is now below its level."""
    for level in levels(store):
        if level["pool"] == pool and level["hardware_model"] == model:
            if level["spares"] == 0:
                return level, "that was the last spare of hardware model %s in pool %s%s" % (
                    model,
                    pool,
                    ": enlist or add more" if not level["low"] else " (%s)" % warning(level),
                )
            return level, warning(level)
    return {"pool": pool, "hardware_model": model, "spares": 0, "min_spares": None, "low": False}, (
        "that was the last spare of hardware model %s in pool %s: enlist or add more" % (model, pool)
    )
