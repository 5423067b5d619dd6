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
    systems = [store.resolve_system(name) for name in store.names("systems") if serves(store, name, segments)]
    distros, templates = _used(store, systems, {})
    return {
        "provisioner": provisioner,
        "segments": segments,
        "systems": systems,
        "templates": templates,
        "distros": distros,
    }


def serves(store, name, segments):
    """Whether the valid system ``name`` has an interface in one of ``segments`` (names)."""
    raw = store.data("systems", name)
    tier = store.data("tiers", raw["tier"]) or {}
    primary_segment = tier.get("segment")
    return any(i.get("segment", primary_segment) in segments for i in raw["interfaces"])


def _used(store, systems, known_templates):
    """The distros and the templates' texts the systems use; texts in known_templates are not read again."""
    distros = {}
    templates = {}
    for system in systems:
        if system["distro"] and system["distro"] not in distros:
            distros[system["distro"]] = dict(store.data("distros", system["distro"]))
        name = system["template"]
        if name and name not in templates:
            if name in known_templates:
                templates[name] = known_templates[name]
                continue
            with open(os.path.join(store.root, "templates", name), "r", encoding="utf-8") as handle:
                templates[name] = handle.read()
    return distros, templates


def patch_view(view, store, systems):
    """A provisioner's view of the store before an edit, made the view of ``store`` after it: the
    edit touched only the named systems (and pools, which the view does not hold). The distros
    and templates are taken again from the systems (templates did not change: their texts are kept)."""
    segments = view["segments"]
    by_name = {system["name"]: system for system in view["systems"]}
    for name in systems:
        by_name.pop(name, None)
        if store.data("systems", name) is not None and serves(store, name, segments):
            by_name[name] = store.resolve_system(name)
    ordered = [by_name[name] for name in sorted(by_name)]
    distros, templates = _used(store, ordered, view["templates"])
    return dict(view, systems=ordered, distros=distros, templates=templates)
