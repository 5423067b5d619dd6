# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv6 netboot end to end (make e2e, tests/e2e/test_ipv6.py): the roles configure a real
systemd provisioner over SSH from records, and UEFI machines install over DHCPv6.

The provisioner (systemd-nspawn, the roles' packages from its apt cache) is on the near link
(br0) at 192.0.2.10 (SSH, and DHCPv4 relayed from far) and 2001:db8:10::1. Segments:

- ``near6``: IPv6-only, the provisioner's own link: Kea DHCPv6 and radvd there are the roles'.
- ``far``: dual-stack, behind a router namespace (rtr: 192.0.2.254 and 2001:db8:10::fe on br0;
  198.51.100.1 and 2001:db8:20::1 on br1) that runs ISC's relays (``dhcrelay -4`` and ``-6``)
  and the segment's router advertisements (radvd, M and O on, no SLAAC, as a segment's router
  would send them: ``advertise: false`` in the records).

Machines (OVMF, support.lab.V6Machine; the MACs are universally administered documentation
MACs, RFC 7042, as real NICs' are): PXE over IPv6 to shim and GRUB, HTTP boot over IPv6 to
iPXE, Secure Boot over PXEv6, PXEv6 through the relay (to iPXE), a dual-stack machine (which
boots over IPv4, as the firmware tries IPv4 first), an unknown MAC, and a spare for a replace
over IPv6. The stand-in installer (support/lab.py) takes its address by DHCPv6 when its install
URL is an IPv6 one.
"""

import csv
import io
import os
import sys
import uuid as uuidlib

from support import lab as L
from support import provisioner as P
from support.netns import Lab, http_answers, sh, wait_for
from support.store import KICKSTART, commit_store, write_store
from support.story import Story

PROV4, PROV6 = "192.0.2.10", "2001:db8:10::1"
RTR4_NEAR, RTR6_NEAR = "192.0.2.254", "2001:db8:10::fe"
RTR4_FAR, RTR6_FAR = "198.51.100.1", "2001:db8:20::1"
NEAR6_RANGE = ("2001:db8:10::1000", "2001:db8:10::1fff")
FAR6_RANGE = ("2001:db8:20::1000", "2001:db8:20::1fff")
STATE_DIR = "/var/lib/baremetal-provision"

# name: (segment, MAC, IPv4, IPv6, firmware of support.lab.V6Machine or "uefi", profile)
SYSTEMS = {
    "pxe6": ("near6", "00:00:5e:00:53:61", None, "2001:db8:10::50", "pxe", "standin-uefi"),
    "http6": ("near6", "00:00:5e:00:53:62", None, "2001:db8:10::51", "http", "standin-uefi"),
    "sb6": ("near6", "00:00:5e:00:53:63", None, "2001:db8:10::52", "sb-pxe", "standin-sb"),
    "far6": ("far", "00:00:5e:00:53:64", None, "2001:db8:20::50", "pxe", "standin-uefi"),
    "dual": ("far", "00:00:5e:00:53:65", "198.51.100.50", "2001:db8:20::51", "uefi", "standin-uefi"),
}
SPARE = ("spare6", "00:00:5e:00:53:66", "pxe")  # a spare of near6's pool: replaces pxe6's box
UNKNOWN = ("unknown6", "00:00:5e:00:53:ee", "pxe")

# The stand-in's kickstart, its network line for a machine that installs over IPv6 (pykickstart's
# syntax: --noipv4 without an IPv4 address, --ipv6 with its /64)
KICKSTART6 = KICKSTART.replace(
    "network --bootproto=static --device={{ mac }} --ip={{ ip }} --netmask={{ network.netmask }} "
    "--gateway={{ network.gateway }} --hostname={{ fqdn }}\n",
    "{% if ip %}network --bootproto=static --device={{ mac }} --ip={{ ip }} --netmask={{ network.netmask }} "
    "--gateway={{ network.gateway }} --ipv6={{ ipv6 }}/64 --hostname={{ fqdn }}\n"
    "{% else %}network --bootproto=static --device={{ mac }} --noipv4 --ipv6={{ ipv6 }}/64 "
    "--hostname={{ fqdn }}\n{% endif %}",
)
assert KICKSTART6 != KICKSTART

RADVD_FAR = """interface br1 {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 10;
    AdvManagedFlag on;
    AdvOtherConfigFlag on;
    prefix 2001:db8:20::/64 {
        AdvOnLink on;
        AdvAutonomous off;
    };
};
"""


def machine_uuid(mac):
    """A fixed SMBIOS UUID per machine: the firmware's and iPXE's DUID-UUID come from it."""
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_OID, "bm-ipv6-" + mac))


class IPv6Story(Story):
    """The replace story's lab (support/story.py), laid out for IPv6."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.figures = {}  # path -> seconds from power-on to the callback

    # ------------------------------------------------------------------ set-up
    def setup(self):
        self.vmlinuz, self.initrd = L.build()
        self.lab = Lab("bm6e")
        self.ns = self.lab.namespace("prov")
        L.no_dad(self.ns)  # the taps and veths made later: the lab's addresses are unique
        self.lab.bridge(self.ns, "br0", "192.0.2.1/24")
        self.router()
        self.server = self.stack.enter_context(
            P.booted(
                self.lab,
                self.ns,
                "br0",
                PROV4 + "/24",
                self.work,
                name="%s-prov" % self.lab.prefix,
                binds=[(os.path.dirname(self.vmlinuz), os.path.dirname(self.vmlinuz))],
                more_addresses=[PROV6 + "/64"],
                routes=[("198.51.100.0/24", RTR4_NEAR), ("2001:db8:20::/64", RTR6_NEAR)],
            )
        )
        for name, (segment, mac, _ip, _ipv6, firmware, _profile) in SYSTEMS.items():
            self.machine(name, segment, mac, firmware)
        self.machine(SPARE[0], "near6", SPARE[1], SPARE[2])
        self.machine(UNKNOWN[0], "near6", UNKNOWN[1], UNKNOWN[2])
        self.write_records()
        self.write_inventory()

    def router(self):
        """The far segment's router: forwarding, its router advertisements, ISC's two relays."""
        self.rtr = self.lab.client(self.ns, "br0", "02:00:00:00:60:fe", name="rtr")
        L.no_dad(self.rtr)
        sh("ip", "-n", self.rtr, "addr", "add", RTR4_NEAR + "/24", "dev", "eth0")
        L.add_address6(self.rtr, RTR6_NEAR + "/64", "eth0")
        self.lab.bridge(self.rtr, "br1", RTR4_FAR + "/24")
        L.add_address6(self.rtr, RTR6_FAR + "/64", "br1")
        for key in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"):
            sh("sysctl", "-q", "-w", key, ns=self.rtr)
        run_dir = self.paths["run"]
        conf = os.path.join(run_dir, "radvd-far.conf")
        with open(conf, "w", encoding="ascii") as handle:
            handle.write(RADVD_FAR)
        self.lab.start(
            self.rtr,
            ["radvd", "-n", "-C", conf, "-p", os.path.join(run_dir, "radvd-far.pid"), "-m", "stderr"],
            os.path.join(run_dir, "radvd-far.log"),
        )
        self.relay6_log = os.path.join(run_dir, "dhcrelay6.log")
        self.lab.start(
            self.rtr,
            ["dhcrelay", "-6", "-d", "-pf", os.path.join(run_dir, "dhcrelay6.pid"), "-l", "br1", "-u", PROV6 + "%eth0"],
            self.relay6_log,
        )
        self.relay4_log = os.path.join(run_dir, "dhcrelay4.log")
        self.lab.start(
            self.rtr,
            ["dhcrelay", "-4", "-d", "-pf", os.path.join(run_dir, "dhcrelay4.pid"), "-id", "br1", "-iu", "eth0", PROV4],
            self.relay4_log,
        )

    def machine(self, name, segment, mac, firmware):
        ns, bridge = (self.rtr, "br1") if segment == "far" else (self.ns, "br0")
        if firmware == "uefi":  # the firmware as shipped: PXE over IPv4 first
            vm = L.Machine(self.lab, ns, bridge, name, mac, self.paths["vm"], uefi=True)
        else:
            vm = L.V6Machine(self.lab, ns, bridge, name, mac, self.paths["vm"], firmware, machine_uuid(mac))
        self.machines[name] = vm
        return vm

    def write_records(self):
        kopts = "kernel_options: {console: ttyS0, panic: '-1', quiet: null}\n"
        files = {
            "segments/near6.yml": "domain: near6.example.test\nprovisioner: prov6\nipv6:\n"
            "  network: 2001:db8:10::/64\n  next_server: %s\n  dns: [%s]\n  dynamic_range: [%s, %s]\n"
            % (PROV6, PROV6, *NEAR6_RANGE),
            "segments/far.yml": "network: 198.51.100.0/24\ngateway: %s\ndns: [%s]\ndomain: far.example.test\n"
            "provisioner: prov6\nnext_server: %s\nrelay: %s\nipv6:\n  network: 2001:db8:20::/64\n"
            "  next_server: %s\n  relay: %s\n  advertise: false\n  dynamic_range: [%s, %s]\n"
            % (RTR4_FAR, PROV4, PROV4, RTR4_FAR, PROV6, RTR6_FAR, *FAR6_RANGE),
            "distros/standin.yml": "family: redhat\narch: x86_64\nkernel: %s\ninitrd: %s\n"
            "install_tree: http://[%s]/repo/standin\n" % (self.vmlinuz, self.initrd, PROV6),
            "profiles/standin-uefi.yml": "distro: standin\ntemplate: standin6.ks.j2\n" + kopts,
            # not quiet: the kernel's "Secure boot enabled" reaches the serial console
            "profiles/standin-sb.yml": "distro: standin\ntemplate: standin6.ks.j2\nsecure_boot: true\n"
            "kernel_options: {console: ttyS0, panic: '-1'}\n",
            "tiers/near6.yml": "segment: near6\nprofile: standin-uefi\n",
            "tiers/far.yml": "segment: far\nprofile: standin-uefi\n",
            "templates/standin6.ks.j2": KICKSTART6,
            "pools/spares-near6.yml": 'segment: near6\nmachines:\n  - {mac: "%s", hardware_model: qemu-uefi}\n'
            % SPARE[1],
        }
        for name, (segment, mac, ip, ipv6, _firmware, profile) in SYSTEMS.items():
            addresses = ("ip: %s, " % ip if ip else "") + 'ipv6: "%s"' % ipv6
            files["systems/%s.yml" % name] = (
                "tier: %s\nprofile: %s\nhardware_model: qemu-uefi\ninterfaces:\n"
                '  - {name: eth0, mac: "%s", %s, primary: true}\n' % (segment, profile, mac, addresses)
            )
        commit_store(write_store(self.paths["records"], files=files))

    def write_inventory(self):
        # DHCPv4 serves only the relayed far segment: no IPv4 segment is on the host's own link
        super().write_inventory("prov6", dhcp_interfaces=["host0"])

    def wait_served(self):
        """nginx answers on the provisioner's IPv6 address, from the far segment's side too."""
        wait_for(lambda: http_answers(self.ns, "http://[%s]/" % PROV6), timeout=30, what="nginx over IPv6")

    # ------------------------------------------------------------------ the provisioner
    def leases6(self):
        """Kea DHCPv6's leases, one dict per line of its memfile (address, duid, hwaddr, ...)."""
        text = self.on_provisioner("cat /var/lib/kea/kea-leases6.csv 2>/dev/null")
        return list(csv.DictReader(io.StringIO(text)))

    def access_log(self):
        return self.on_provisioner("cat /var/log/nginx/baremetal-provision.log 2>/dev/null; true")

    def install(self, machine, system, generation=1, power_on=True, timeout=240):
        """Story.install, its seconds from power-on to the callback kept in figures."""
        took, console = super().install(machine, system, generation, power_on=power_on, timeout=timeout)
        self.figures[machine] = took
        return took, console

    def close(self):
        for vm in self.machines.values():
            vm.power_off()
        super().close()


def main(argv):
    """``python -m support.ipv6_story [WORKDIR]``: set the lab up, run site, keep it for a look."""
    story = IPv6Story(argv[0] if argv else "/tmp/bm-ipv6-story")
    try:
        story.setup()
        print(story.playbook("site")[0].stdout[-3000:])
        input("the lab is up; Enter ends it ")
    finally:
        story.close()


if __name__ == "__main__":
    main(sys.argv[1:])
