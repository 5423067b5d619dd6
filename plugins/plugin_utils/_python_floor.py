# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The oldest Python the code shipped to a provisioner runs on (tests/unit/test_provisioner_python.py
runs it on every version from there on), checked before the module goes over when facts say
which Python the provisioner has.
"""

from __future__ import annotations

PROVISIONER_PYTHON = (3, 7)


def python_refusal(facts):
    """Why the provisioner's Python (from its gathered ``ansible_facts``) cannot run
    provisioner_sync, or None when it can or the facts do not say."""
    info = (facts or {}).get("python") or {}
    version = info.get("version_info")
    if not version or tuple(version[:2]) >= PROVISIONER_PYTHON:
        return None
    return (
        "the provisioner's Python %s is %s; provisioner_sync needs Python %d.%d or later there "
        "(set ansible_python_interpreter to a newer one, e.g. /usr/bin/python3.9 on RHEL 8)"
        % (info.get("executable") or "", ".".join(str(part) for part in version[:3]), *PROVISIONER_PYTHON)
    )
