# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A record store for the discovery tests: the sample store's dmz segment plus a relayed segment
served by the same provisioner, with a machine of each kind of boot file (automatic, fixed
pxelinux, Secure Boot) in the dmz and one in the relayed segment."""

from support.store import FILES

EDGE_SEGMENT = """\
network: 203.0.113.0/24
gateway: 203.0.113.1
domain: edge.example.test
provisioner: prov-dmz
next_server: 192.0.2.1
dynamic_range: [203.0.113.200, 203.0.113.250]
relay: 203.0.113.1
"""

SECURE_PROFILE = """\
distro: rocky9
template: rocky9.ks.j2
secure_boot: true
"""


def files(discovery=None, **more):
    """The store's files; discovery: {segment: True/False} sets that field on those segments."""
    out = dict(FILES)
    out["segments/edge.yml"] = EDGE_SEGMENT
    out["tiers/edge.yml"] = "segment: edge\nprofile: rocky9-web\n"
    out["profiles/secure.yml"] = SECURE_PROFILE
    out["systems/web03.yml"] = (
        FILES["systems/web01.yml"].replace("12:34:56", "12:34:58").replace("192.0.2.50", "192.0.2.52")
        + "profile: secure\n"
    )
    out["systems/web02.yml"] = (  # the tier's r640 profile fixes pxelinux
        FILES["systems/web01.yml"]
        .replace("12:34:56", "12:34:57")
        .replace("192.0.2.50", "192.0.2.51")
        .replace("hardware_model: r650", "hardware_model: r640")
    )
    out["systems/edge01.yml"] = (
        'tier: edge\ninterfaces:\n  - {name: eth0, mac: "52:54:00:12:35:01", ip: 203.0.113.50, primary: true}\n'
    )
    for segment, value in (discovery or {}).items():
        out["segments/%s.yml" % segment] += "discovery: %s\n" % ("true" if value else "false")
    out.update(more)
    return out
