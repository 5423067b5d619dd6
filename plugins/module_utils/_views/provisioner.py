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

    def template(name):
        if name in known_templates:
            return known_templates[name]
        with open(os.path.join(store.root, "templates", name), "r", encoding="utf-8") as handle:
            return handle.read()

    return _picked(systems, lambda name: dict(store.data("distros", name)), template)


def _picked(systems, distro, template):
    """({distro: data}, {template: text}) of what the systems use, in the order they first use
    them (as build_view has them): distro(name) and template(name) give each one."""
    distros = {}
    templates = {}
    for system in systems:
        if system["distro"] and system["distro"] not in distros:
            distros[system["distro"]] = distro(system["distro"])
        name = system["template"]
        if name and name not in templates:
            templates[name] = template(name)
    return distros, templates


def patch_systems(segments, store, systems):
    """What an edit that touched only the named systems (and pools, which a provisioner's view does
    not hold) changes in the view of a provisioner serving ``segments``: {name: the system as
    ``store`` now has it, or None when the view no longer holds it}."""
    return {
        name: store.resolve_system(name)
        if store.data("systems", name) is not None and serves(store, name, segments)
        else None
        for name in systems
    }


def used_by(store, systems):
    """The distros and templates (texts read from the store) the given systems use: what a patch
    of the view needs besides them (with_changes)."""
    return _used(store, [system for system in systems if system is not None], {})


def with_changes(view, changes, distros, templates):
    """A provisioner's view with changes (patch_systems') applied: the systems in name order, and
    the distros and templates they use, from the view's and from those given (used_by's for the
    changed systems). None when a system uses one that neither holds."""
    by_name = {system["name"]: system for system in view["systems"]}
    for name, system in changes.items():
        if system is None:
            by_name.pop(name, None)
        else:
            by_name[name] = system
    ordered = [by_name[name] for name in sorted(by_name)]
    known_distros = dict(view["distros"], **distros)
    known_templates = dict(view["templates"], **templates)
    try:
        distros, templates = _picked(ordered, known_distros.__getitem__, known_templates.__getitem__)
    except KeyError:
        return None
    return dict(view, systems=ordered, distros=distros, templates=templates)
