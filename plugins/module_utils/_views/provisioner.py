# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

One provisioner's share of the record store: the segments it serves and the systems with an
interface in them, merged and inherited. Built on the controller, where the records are; the
provisioner's sync (``_provisioner.sync``) renders it.
"""

from __future__ import annotations

import os

from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import Problem, StoreError


# ------------------------------------------------------------------ controller side
def build_view(store, provisioner):
    """The provisioner's share of a valid store (raises StoreError naming every problem)."""
    store.check()
    segments = {}
    for name in store.names("segments"):
        data = store.data("segments", name)
        if data.get("provisioner") == provisioner:
            segments[name] = dict(data)
    if not segments:
        known = sorted({store.data("segments", n).get("provisioner") for n in store.names("segments")})
        raise StoreError(
            Problem(
                "segments/",
                "provisioner",
                "no segment names %r as its provisioner (named: %s)" % (provisioner, ", ".join(known) or "none"),
            )
        )
    systems = []
    for name in store.names("systems"):
        raw = store.data("systems", name)
        tier = store.data("tiers", raw["tier"]) or {}
        primary_segment = tier.get("segment")
        if not any(i.get("segment", primary_segment) in segments for i in raw["interfaces"]):
            continue
        systems.append(store.resolve_system(name))
    distros = {}
    for system in systems:
        if system["distro"] and system["distro"] not in distros:
            distros[system["distro"]] = dict(store.data("distros", system["distro"]))
    templates = {}
    for system in systems:
        name = system["template"]
        if name and name not in templates:
            with open(os.path.join(store.root, "templates", name), "r", encoding="utf-8") as handle:
                templates[name] = handle.read()
    return {
        "provisioner": provisioner,
        "segments": segments,
        "systems": systems,
        "templates": templates,
        "distros": distros,
    }
