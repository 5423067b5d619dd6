# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in IPMI BMC (IPMI 2.0 over LAN, RMCP+) for a QEMU machine of the lab, on loopback.

It stands in for a physical BMC, the one part that cannot run here, and lets the playbooks'
real IPMI client (ipmitool) set a one-time network boot and power-cycle the machine. The
protocol side is pyghmi's BMC framework (as virtualbmc uses); this class maps its power and
boot calls onto the QEMU machine.

    python -m support.ipmi_bmc PORT USER PASSWORD CONTROL_FILE
runs one in its own process (pyghmi's session loop is process-wide); the machine is driven
through CONTROL_FILE (one line per request: "on", "off") by the caller, which owns QEMU.
"""

import os
import sys
import time

from pyghmi.ipmi import bmc


class StandInBmc(bmc.Bmc):
    def __init__(self, authdata, port, control):
        super(StandInBmc, self).__init__(authdata, port=port, address="::ffff:127.0.0.1")
        self.control = control
        self.boot = "default"
        self.powered = False

    def _tell(self, what):
        with open(self.control, "a", encoding="ascii") as handle:
            handle.write("%.3f %s %s\n" % (time.time(), what, self.boot))

    def get_boot_device(self):
        return self.boot

    def set_boot_device(self, bootdevice):
        self.boot = bootdevice
        self._tell("bootdev")

    def get_power_state(self):
        return "on" if self.powered else "off"

    def power_on(self):
        self.powered = True
        self._tell("on")

    def power_off(self):
        self.powered = False
        self._tell("off")

    def power_cycle(self):
        self.powered = True
        self._tell("cycle")

    def power_reset(self):
        self.power_cycle()

    def power_shutdown(self):
        self.power_off()

    def is_active(self):
        return self.powered


def main(argv):
    port, user, password, control = int(argv[0]), argv[1], argv[2], argv[3]
    server = StandInBmc({user: password}, port, control)
    open(control, "a").close()
    server.listen()


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main(sys.argv[1:])
